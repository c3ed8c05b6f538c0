/** `/v1/batches`: NDJSON (or .npy) upload, streamed; status, cancel, and results streamed in input order. */
import type { IncomingMessage } from 'node:http';
import { Router } from 'express';
import { z } from 'zod';
import { AppError, clusterNow, megabytes, ValidationError, VersionParam, WebhookUrl } from '@maas/shared';
import type { Deps } from '../deps.js';
import { decodedBody, drainBody, DRAIN_MS } from '../http/body-encoding.js';
import { LineTooLongError } from '../batches/ndjson.js';
import { emptyBody, hasBody } from '../http/has-body.js';
import { fromZod } from '../http/problem.js';
import { targetPath } from '../http/target-path.js';
import { charsetRefusal } from '../http/infer-body.js';
import { continueOnRead } from '../http/continue.js';
import { clientGone, requestSignal } from '../http/request-signal.js';
import { clampWaitMs, queryWait } from '../http/wait.js';
import { pipeChunks } from '../http/pipe-chunks.js';
import { refusesNdjson, resultsForm } from '../batches/results-form.js';
import { bytesBetween, contentRange, ifRangeHolds, preconditions, rangeAsked, rangeOf } from '../http/byte-range.js';
import { RESULTS_FORMAT } from '../batches/results.js';
import { resultsFormName, type ResultsOf } from '../services/batch-results.js';
import { IdempotencyStore } from '../services/idempotency.js';

/**
 * Newline-delimited JSON under its several names. Not `application/json-seq` (RFC 7464): its
 * records are framed by a record separator (0x1E), and one may span lines, which a line reader
 * would not read as sent: a 415 like any other type.
 */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/jsonlines', 'text/plain'];
/** Results lines' type. */
const NDJSON_RESULTS = 'application/x-ndjson';
/** A NumPy array (an extension to the contract's NDJSON; see batches/npy.ts). */
export const NPY_TYPES = ['application/x-npy', 'application/vnd.numpy.npy'];

/**
 * The 400's words for query parameters a batch route does not read: `read` lists those it does.
 * An unknown name is refused, not ignored, on every batch route: a guess (`?format=npy`) would
 * otherwise get another answer than asked for, and an upload's is often the rest of a webhook URL.
 */
const unknownParameters = (read: string) => (issue: { code: string; keys?: string[] }) => issue.code === 'unrecognized_keys' && issue.keys
  ? `unknown query parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (${read})`
  : undefined;

/** `GET /v1/batches/{id}/results`: one `output` at most (a repeated name is a list: a 400). */
export const ResultsQuery = z.strictObject({
  output: z.string().optional().describe('with Accept: application/x-npy, the output the array holds (required when the model has several); one the model does not have is a 400 in either form'),
  failed: z.enum(['true', 'false']).optional().describe('true: only the lines that failed, in input order (NDJSON; no outputs are read, so it is quick on a large batch)'),
}, { error: unknownParameters('output and failed are read; .npy results are asked for with Accept: application/x-npy') });

/**
 * `POST /v1/batches`'s query. An unknown name is most often the rest of a webhook URL whose `&`
 * was not encoded (`?webhook=https://h/x?a=1&b=2` stores `…?a=1`).
 */
export const BatchQuery = z.strictObject({
  model: z.string({ error: 'the query parameter ?model= is required: it names the model every line runs on' }).min(1, 'the query parameter ?model= is required: it names the model every line runs on'),
  version: VersionParam.optional(),
  webhook: WebhookUrl.optional(),
}, { error: unknownParameters("model, version and webhook are read; a webhook URL's own & and # must be percent-encoded: %26, %23") });

/**
 * PURE: the strong entity tag of a completed batch's results in one form
 * (`"batch_…-1733446800-ndjson-f1"`): the batch's id and end, the form (NDJSON, its failed
 * lines, or one output's `.npy`), and the format of the bytes (RESULTS_FORMAT).
 */
export function resultsTag(id: string, completedAt: string | null, of: ResultsOf): string {
  return `"${id}-${completedAt === null ? 0 : Date.parse(completedAt) / 1000}-${resultsFormName(of)}-f${RESULTS_FORMAT}"`;
}

/** `GET /v1/batches`: a page of the tenant's batches, newest first (as the OpenAI Batch API lists them). */
export const BatchListQuery = z.strictObject({
  after: z.string().min(1).optional().describe('the last batch id of the previous page'),
  limit: z.string().regex(/^[0-9]+$/, 'limit is a whole number').optional().describe('batches a page, 1 to 100 (default 20)'),
}, { error: unknownParameters('after and limit are read') });
const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

/** A batch upload (`POST /v1/batches`), whose body its route reads (streamed), whatever its type says. */
export const isBatchUpload = (req: IncomingMessage): boolean => req.method === 'POST' && /^\/v1\/batches\/?$/i.test(targetPath(req));

export function batchesRouter({ batches, config, shutdown }: Deps): Router {
  const r = Router();

  r.post('/v1/batches', async (req, res) => {
    const q = BatchQuery.safeParse(req.query);
    if (!q.success) throw fromZod(q.error);
    // Without a body type-is matches no type: say what is missing rather than a 415 naming the type sent.
    if (!hasBody(req)) throw emptyBody('NDJSON request lines (or a NumPy array)');
    const format = req.is(NDJSON_TYPES) ? 'ndjson' : req.is(NPY_TYPES) ? 'npy' : undefined;
    if (!format) {
      throw new AppError('unsupported-media-type', `send the batch as application/x-ndjson, or a NumPy array as application/x-npy (got ${req.get('Content-Type') ?? 'no Content-Type'})`);
    }
    // NDJSON is UTF-8 (as JSON is); lines in another charset would be read as mojibake.
    const charset = format === 'ndjson' ? charsetRefusal(req.get('Content-Type'), 'NDJSON request lines are') : undefined;
    if (charset) throw charset;
    // The 100 of `Expect: 100-continue` goes out as the body is first read: an unknown model or a
    // full queue (create's checks before that) is answered without the body being sent.
    const key = IdempotencyStore.check(req.headersDistinct['idempotency-key']);
    const decoded = decodedBody(req, megabytes(config.BATCH_MAX_MB));
    const upload = continueOnRead(req, res, decoded);
    // An upload answered before its body was read whole (refused, or an Idempotency-Key's
    // replay) is answered once the client has sent the rest (discarded, for up to a few
    // seconds), so it reads the answer rather than a connection reset; the connection is not
    // reused after it. A client never asked for its body (still waiting for the 100) sends
    // none: it is answered at once.
    const leftUnread = async (ms = DRAIN_MS) => {
      if (!req.complete) res.setHeader('Connection', 'close');
      if (upload.asked()) await drainBody(req, ms);
    };
    let created;
    try {
      created = await batches.create(req.tenant, q.data, upload.body, format, key);
    } catch (err) {
      // A line too long in a compressed body may be the garbage a corrupt one inflates to: its
      // rest is decompressed (within the drain's time) to answer the 400 it then deserves.
      if (err instanceof LineTooLongError) {
        const started = Date.now();
        const corrupt = await decoded.corruptRest(DRAIN_MS);
        await leftUnread(DRAIN_MS - (Date.now() - started));
        throw corrupt ?? err;
      }
      await decoded.stop();
      await leftUnread();
      throw err;
    }
    const { batch } = created;
    if (!created.created) {
      await leftUnread();
      res.setHeader('Idempotent-Replayed', 'true');
    }
    res.status(202).setHeader('Location', `${config.PUBLIC_PATH}/v1/batches/${batch.id}`).json(batch);
  });

  r.get('/v1/batches', async (req, res) => {
    const q = BatchListQuery.safeParse(req.query);
    if (!q.success) throw fromZod(q.error);
    const limit = q.data.limit === undefined ? DEFAULT_PAGE : Number(q.data.limit);
    if (limit < 1 || limit > MAX_PAGE) throw new ValidationError([{ path: 'limit', message: `limit is 1 to ${MAX_PAGE}` }]);
    const page = await batches.listPage(req.tenant, q.data.after, limit);
    res.json({ object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.has_more });
  });

  r.get('/v1/batches/:id', async (req, res) => {
    // `?wait=N` long-polls as for jobs (an extension): the answer comes when the batch completes.
    const ms = clampWaitMs(queryWait(req.query['wait']), config.MAX_WAIT_S);
    res.json(ms > 0 ? await batches.wait(req.tenant, req.params.id, ms, requestSignal(res, shutdown)) : await batches.get(req.tenant, req.params.id));
  });

  r.post('/v1/batches/:id/cancel', async (req, res) => {
    res.json(await batches.cancel(req.tenant, req.params.id));
  });

  r.get('/v1/batches/:id/results', async (req, res) => {
    const q = ResultsQuery.safeParse(req.query);
    if (!q.success) throw fromZod(q.error);
    // NDJSON unless the client prefers a NumPy array of one output (an extension): the answer
    // depends on Accept, problems included.
    res.vary('Accept');
    const done = await batches.finished(req.tenant, req.params.id);
    const failedOnly = q.data.failed === 'true';
    const preferred = req.accepts([NDJSON_RESULTS, ...NPY_TYPES]);
    const wantsNpy = typeof preferred === 'string' && NPY_TYPES.includes(preferred);
    const acceptsNdjson = req.accepts(NDJSON_RESULTS) !== false;
    // Errors are no array's: the failed lines come as NDJSON, a 406 to a client that takes only .npy.
    if (failedOnly && wantsNpy && !acceptsNdjson) throw new AppError('not-acceptable', `the failed lines of a batch come as ${NDJSON_RESULTS} only`);
    if (!wantsNpy && !acceptsNdjson && refusesNdjson(req.get('Accept'))) throw new AppError('not-acceptable', `the results come as ${NDJSON_RESULTS}${failedOnly ? '' : ` or ${NPY_TYPES.join(', ')}`}, and Accept refuses ${NDJSON_RESULTS}`);
    const form = resultsForm(!failedOnly && wantsNpy, acceptsNdjson, () => batches.results.npyForm(done, q.data.output));
    // An output the model does not have is a 400 whatever form the answer takes (NDJSON ignored it).
    if (form.type === 'ndjson' && q.data.output !== undefined) batches.results.checkOutput(done, q.data.output);
    const of: ResultsOf = form.type === 'npy' ? form : { type: 'ndjson', failedOnly };
    // A completed batch's results do not change: one tag names each answer a batch gives, and
    // a download cut off resumes with `Range` (http/byte-range.ts; batch-results.ts chunkBytes).
    // The tag names the bytes as made: NDJSON that may go compressed (http/compress.ts) is
    // another representation, so it carries the tag weak (the same content), and strong only
    // as a 206 (ranges are never compressed); its Last-Modified serves an If-Range too.
    const etag = resultsTag(done.id, done.batch.completed_at, of);
    const lastModified = done.batch.completed_at ? new Date(done.batch.completed_at).toUTCString() : undefined;
    const mayBeEncoded = form.type === 'ndjson' && config.COMPRESS_RESPONSES && req.acceptsEncodings(['br', 'gzip', 'deflate']) !== false;
    res.status(200).type(form.type === 'npy' ? NPY_TYPES[0]! : NDJSON_RESULTS).set({ 'Accept-Ranges': 'bytes', ETag: mayBeEncoded ? `W/${etag}` : etag });
    if (lastModified) res.set('Last-Modified', lastModified);
    // The client holds these results already (a cache revalidating): a 304, nothing read.
    const conditions = preconditions(
      { ifMatch: req.get('If-Match'), ifUnmodifiedSince: req.get('If-Unmodified-Since'), ifNoneMatch: req.get('If-None-Match'), ifModifiedSince: req.get('If-Modified-Since') },
      etag, lastModified, clusterNow(), // Last-Modified is on the cluster's clock
    );
    if (conditions === 'failed') throw new AppError('precondition-failed', `the results are ${etag}, last modified ${lastModified ?? 'never'}: If-Match or If-Unmodified-Since names another`);
    if (conditions === 'not-modified') return void res.status(304).end();
    // An .npy file's length is known from its rows when the signature fixes a row's shape (a range's is set below).
    if (form.type === 'npy' && form.npy.length !== undefined) res.set('Content-Length', String(form.npy.length));
    // HEAD: what GET would answer, after the same checks, without reading a chunk.
    if (req.method === 'HEAD') return void res.end();
    let body: AsyncIterable<Uint8Array> = batches.results.bytes(done, of);
    // A Range that asks nothing of a part (several ranges, not valid) is not worth a count.
    const asked = rangeAsked(req.get('Range'));
    if (asked && ifRangeHolds(req.get('If-Range'), etag, lastModified)) {
      // A client that leaves while its results are counted stops the count, unless others wait on it.
      const gone = clientGone(res);
      const lengths = await batches.results.chunkBytes(done, of, gone).catch((err: unknown) => {
        if (gone.aborted) return undefined;
        throw err;
      });
      if (!lengths || gone.aborted) return void req.log.info({ batch: req.params.id }, 'results range not sent: the client went away while it was counted');
      const total = lengths.reduce((a, b) => a + b, 0);
      const range = rangeOf(asked, total);
      if (range === 'unsatisfiable') {
        throw new AppError('range-not-satisfiable', `the results are ${total} bytes: ${req.get('Range')} asks for none of them`, { length: total }, { headers: { 'Content-Range': contentRange(undefined, total) } });
      }
      // From the chunk that holds the range's first byte (it starts `offset` bytes in).
      let chunk = 0;
      let offset = 0;
      while (offset + lengths[chunk]! <= range.start) offset += lengths[chunk++]!;
      const length = range.end - range.start + 1;
      res.status(206).set({ 'Content-Range': contentRange(range, total), 'Content-Length': String(length), ETag: etag });
      body = bytesBetween(batches.results.bytes(done, of, chunk), range.start - offset, length);
    }
    // A client that stops reading for IDLE_TIMEOUT_S is let go, as one that stops sending is.
    if (await pipeChunks(res, body, config.IDLE_TIMEOUT_S * 1000)) res.end();
    else req.log.info({ batch: req.params.id }, 'results download ended early: the client went away');
  });

  return r;
}
