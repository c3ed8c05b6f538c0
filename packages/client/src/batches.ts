/**
 * `/v1/batches`: many requests in one NDJSON upload, results downloaded as NDJSON in input
 * order. Both directions are streamed, so a batch of millions of lines costs the client the
 * same memory as a batch of ten.
 */
import { createReadStream, createWriteStream, finished, once, rename, stat, type WriteStream } from './local-files.js';
import { failedUntold, MaasApiError, MaasConnectionError, MaasProtocolError, MaasWaitTimeoutError } from './errors.js';
import { byteStream, encodeNdjson, parseNdjson, splitLines, type LineSource, type NdjsonBody } from './ndjson.js';
import { forgetKept, keptPartial, noteKept, partialPath, type ResultsForm } from './kept-download.js';
import { NpyFile } from './npy.js';
import { resumedPart, tagOf } from './resume.js';
import { RECONNECT_FOR_MS, sleep, throughRestarts } from './time.js';
import { newIdempotencyKey, objectOf, type CallOptions, type Transport } from './transport.js';
import { batchEnded, type Batch, type BatchLine, type BatchPage, type BatchResult } from './types.js';

const BATCH = objectOf('batch');

/** An NDJSON file to upload as it is, byte for byte (see `ndjsonFile`). */
export class NdjsonFile {
  constructor(readonly path: string) {}
}

/**
 * Upload the file at `path` as a batch body, streamed from disk: it is never read whole, and
 * its bytes are sent unchanged (no parsing on the client).
 */
export function ndjsonFile(path: string): NdjsonFile {
  return new NdjsonFile(path);
}

export interface UploadProgress {
  /** bytes handed to the connection so far */
  bytes: number;
  /** the file's size, when the source is a regular file (not a FIFO, a device) */
  totalBytes: number | undefined;
  /** lines sent so far (iterable sources only; a file is sent without splitting it) */
  lines: number;
}

export interface SubmitBatchOptions extends CallOptions {
  model: string;
  version?: number | string | undefined;
  /** a URL that gets `batch.completed` (Standard Webhooks) */
  webhook?: string | undefined;
  /** request lines (objects or JSON strings), `ndjsonFile(path)`, or `npyFile(path)` (a NumPy array, one row per line) */
  lines: LineSource<BatchLine> | NdjsonFile | NpyFile;
  /**
   * What a byte stream given as `lines` holds: NDJSON (the default) or, with `npy`, a NumPy
   * array (sent as `application/x-npy`, as `npyFile` sends a file). Only for bytes: lines
   * given as objects or strings are NDJSON (a TypeError otherwise).
   */
  format?: 'ndjson' | 'npy' | undefined;
  /**
   * The bytes of the file or byte stream are compressed this way already (a `.gz` file): sent
   * as they are, with `Content-Encoding`, and the API decompresses them. Only for bytes: lines
   * given as objects or strings are sent as NDJSON text (a TypeError otherwise).
   */
  contentEncoding?: 'gzip' | 'deflate' | 'br' | undefined;
  /** called as the body is sent: an upload of millions of lines takes a while */
  onUploadProgress?: ((p: UploadProgress) => void) | undefined;
  /**
   * Names the upload: a retry with the same key and target gets the first upload's batch
   * instead of a second one (its body is not read again). When retries are on and no key is
   * given, one is generated, so a retried upload can never make two batches.
   */
  idempotencyKey?: string | undefined;
}

export interface GetBatchOptions extends CallOptions {
  /** long-poll: answer as soon as the batch completes, or after this many seconds */
  wait?: number | undefined;
}

export interface BatchWaitOptions {
  /** called with each answer's batch (its counts are the progress) */
  onProgress?: ((batch: Batch) => void) | undefined;
  /** how long each request long-polls, so how often onProgress hears; default 1000 ms */
  intervalMs?: number | undefined;
  /** give up (MaasWaitTimeoutError) after this long; default: wait as long as it takes */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ListBatchesOptions extends CallOptions {
  /** the last batch id of the previous page (its `last_id`) */
  after?: string | undefined;
  /** batches a page, 1 to 100 (the server's default: 20) */
  limit?: number | undefined;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** result lines written (NDJSON; 0 for an .npy download) */
  lines: number;
}

export class Batches {
  constructor(private readonly http: Transport) {}

  /**
   * Streams the lines to `POST /v1/batches` and returns the accepted batch (202). The body is
   * produced as the connection takes it, so memory stays flat whatever the line count.
   * Regular files and arrays are retried on 429/503 like any other request, and, sent with an
   * Idempotency-Key the client made, when the connection is lost (an answer lost on its way
   * back answers the same batch, not a second); other sources (generators, streams, a file that
   * is a FIFO or a device) are sent once, as what was consumed cannot be read again.
   */
  async submit(opts: SubmitBatchOptions): Promise<Batch> {
    const { lines, onUploadProgress } = opts;
    const file = lines instanceof NdjsonFile || lines instanceof NpyFile;
    if (opts.format === 'npy' ? lines instanceof NdjsonFile : opts.format === 'ndjson' && lines instanceof NpyFile) {
      throw new TypeError(`format: '${opts.format}' contradicts ${lines instanceof NpyFile ? 'npyFile' : 'ndjsonFile'}(path)`);
    }
    let current: NdjsonBody | undefined;
    let makeStream: () => ReadableStream<Uint8Array>;
    let replayable = false;
    if (file) {
      // Fail on a missing file now, with the file's own error, not as a failed upload.
      const s = await stat(lines.path);
      // A FIFO or a device (`<(zcat x.gz)`, /dev/stdin) is read once, its size unknown: sent once.
      const totalBytes = s.isFile() ? s.size : undefined;
      replayable = s.isFile();
      makeStream = () => {
        current = byteStream(createReadStream(lines.path, { highWaterMark: 256 * 1024 }), (bytes) =>
          onUploadProgress?.({ bytes, totalBytes, lines: 0 }),
        );
        return current.stream;
      };
    } else {
      replayable = Array.isArray(lines);
      // Compressed or .npy bytes are no lines: a source that yields lines is refused at its first.
      const option = opts.contentEncoding !== undefined ? 'contentEncoding' : opts.format === 'npy' ? "format: 'npy'" : undefined;
      makeStream = () => {
        const source = option === undefined ? lines : bytesOnly(lines, option);
        current = encodeNdjson(source, { onProgress: (p) => onUploadProgress?.({ ...p, totalBytes: undefined }) });
        return current.stream;
      };
    }
    try {
      const ownKey = opts.idempotencyKey === undefined && this.http.retriesEnabled && replayable;
      const key = opts.idempotencyKey ?? (ownKey ? newIdempotencyKey() : undefined);
      const { body } = await this.http.json<Batch>({
        method: 'POST',
        path: '/v1/batches',
        headers: { 'idempotency-key': key, 'content-encoding': opts.contentEncoding },
        expect: BATCH,
        query: { model: opts.model, version: opts.version, webhook: opts.webhook },
        stream: makeStream,
        replayable,
        ownKey,
        sourceFailed: () => current?.failure !== undefined,
        contentType: lines instanceof NpyFile || opts.format === 'npy' ? 'application/x-npy' : 'application/x-ndjson',
        signal: opts.signal,
        // An upload takes as long as it takes; the caller's signal cancels it.
        timeoutMs: opts.timeoutMs ?? 0,
      });
      return body;
    } catch (err) {
      // The source failing (a bad line, a read error) aborts the upload: report the cause.
      if (current?.failure !== undefined) throw current.failure;
      throw err;
    }
  }

  async get(id: string, opts: GetBatchOptions = {}): Promise<Batch> {
    const { body } = await this.http.json<Batch>({
      method: 'GET',
      path: `/v1/batches/${encodeURIComponent(id)}`,
      expect: BATCH,
      query: { wait: opts.wait },
      signal: opts.signal,
      timeoutMs: this.http.pollTimeoutMs(opts.wait, opts.timeoutMs),
    });
    return body;
  }

  /** A page of this tenant's batches, newest first (`GET /v1/batches`); the next page is `{ after: page.last_id }`. */
  async list(opts: ListBatchesOptions = {}): Promise<BatchPage> {
    const { after, limit, ...call } = opts;
    const { body } = await this.http.json<BatchPage>({ method: 'GET', path: '/v1/batches', expect: objectOf('list'), query: { after, limit }, ...call });
    return body;
  }

  /** Every batch of this tenant, newest first, a page (`limit`) at a time. */
  async *each(opts: Omit<ListBatchesOptions, 'after'> = {}): AsyncGenerator<Batch, void, undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list({ ...opts, after });
      yield* page.data;
      if (!page.has_more || page.last_id === null) return;
      after = page.last_id;
    }
  }

  async cancel(id: string, opts: CallOptions = {}): Promise<Batch> {
    const { body } = await this.http.json<Batch>({ method: 'POST', path: `/v1/batches/${encodeURIComponent(id)}/cancel`, expect: BATCH, ...opts });
    return body;
  }

  /**
   * Resolves with the batch once it has ended (`completed_at` set: a canceled batch's running
   * chunks have finished, its counts are final and its results readable; check `status`). Each request
   * long-polls (`?wait=`) for up to `intervalMs`, so the end is seen as it happens, and
   * `onProgress` sees each answer, the last one included. An API that restarts meanwhile
   * (connection refused, reset or closed mid-answer) is waited for, up to a minute.
   */
  async wait(id: string, opts: BatchWaitOptions = {}): Promise<Batch> {
    const interval = Math.max(50, opts.intervalMs ?? 1000);
    const deadline = Date.now() + (opts.timeoutMs ?? Infinity);
    for (;;) {
      const started = Date.now();
      // The time left is read at each try: one made after riding out a restart asks for less.
      const batch = await throughRestarts(() => {
        const pollMs = Math.max(0, Math.min(interval, deadline - Date.now()));
        return this.get(id, { wait: pollMs > 0 ? pollMs / 1000 : undefined, signal: opts.signal });
      }, deadline, opts.signal);
      opts.onProgress?.(batch);
      if (batchEnded(batch)) return batch;
      const left = deadline - Date.now();
      if (left <= 0) throw new MaasWaitTimeoutError(`batch ${id} still ${batch.status} after ${opts.timeoutMs} ms`, batch);
      // A server that does not long-poll (wait capped to 0, or older) answers at once: do not spin.
      const took = Date.now() - started;
      if (took < interval) await sleep(Math.min(interval - took, left), opts.signal);
    }
  }

  /**
   * The results, one parsed line at a time, in input order, read from the connection as they
   * arrive. Breaking out of the loop closes the download. A batch that has not finished yet
   * answers 409 (MaasApiError), thrown by the first iteration.
   */
  async *results(id: string, opts: ResultsOptions = {}): AsyncGenerator<BatchResult, void, undefined> {
    yield* parseNdjson<BatchResult>(splitLines((await this.openResults(id, opts)).body));
  }

  /**
   * Streams the results to a file (written under `<path>.partial`, renamed when complete, so
   * an interrupted download never looks finished) or to a writable such as `process.stdout`
   * (which is not ended). Resolves with the bytes and lines written. A download to a file that
   * is interrupted (the connection lost for good, `signal` aborted) keeps its `.partial` with
   * a note of what it holds (kept-download.ts), and a later call for the same batch and form
   * asks only for the rest; results that changed meanwhile are downloaded whole.
   */
  async downloadResults(id: string, destination: string | NodeJS.WritableStream, opts: DownloadOptions = {}): Promise<DownloadResult> {
    const { format, output, ...rest } = opts;
    const npy = format === 'npy';
    if (npy && rest.failedOnly) throw new TypeError('failedOnly results are NDJSON lines (errors are no array): drop format: "npy"');
    const npyOutput = npy ? { output: output ?? '' } : undefined;
    if (typeof destination !== 'string') {
      const c = counter(npy);
      await copyTo((await this.openResults(id, rest, npyOutput)).body, destination, c);
      return { path: '-', ...c.finish() };
    }
    const form: ResultsForm = { batch: id, format: npy ? 'npy' : 'ndjson', failedOnly: rest.failedOnly === true, output: output ?? '' };
    const kept = await keptPartial(destination, form);
    const partial = partialPath(destination);
    // The kept bytes counted before the answer is opened (it would wait unread meanwhile).
    const keptCount = counter(npy);
    if (kept) for await (const chunk of createReadStream(partial, { end: kept.bytes - 1 })) keptCount.see(chunk as Buffer);
    let c = counter(npy);
    let opened: OpenedResults | undefined;
    try {
      opened = await this.openResults(id, rest, npyOutput, kept);
      let file: WriteStream;
      if (opened.start > 0) {
        c = keptCount;
        file = createWriteStream(partial, { flags: 'r+', start: opened.start });
      } else {
        // Starting over: what was kept goes first, its note with it, so that a note never names
        // bytes it is not the start of (a run stopped in between finds no note, or an empty file).
        await forgetKept(destination, true);
        file = createWriteStream(partial);
        await once(file, 'open');
        if (opened.etag) await noteKept(destination, form, opened.etag);
      }
      // Not a pipeline: a failing download must still write what it received, to be kept.
      let failed: unknown;
      await copyTo(opened.body, file, c).catch((err: unknown) => (failed = err));
      file.end();
      await finished(file).catch((err: unknown) => (failed ??= err));
      if (failed !== undefined) throw failed;
      await rename(partial, destination).catch((err: NodeJS.ErrnoException) => {
        // The partial file was just written: a rename that fails is about its target (a
        // directory there, a folder gone), so the error names it, not the `.partial` file.
        err.path = destination;
        throw err;
      });
      await forgetKept(destination, false);
      return { path: destination, ...c.finish() };
    } catch (err) {
      // Kept for a later run: bytes of tagged results, cut off by the connection or the caller.
      // Nothing opened (the API down, the batch not found): a partial kept before stays as it was.
      const resumable = opened?.etag !== undefined && c.counts.bytes > 0 && (err instanceof MaasConnectionError || rest.signal?.aborted === true);
      if (opened && !resumable) await forgetKept(destination, true);
      throw err;
    }
  }

  /**
   * The results' bytes as they arrive: NDJSON, or with `npy` one output's rows as an .npy file
   * (`output`: '' lets the server pick a model's only output). A connection lost mid-answer (a
   * proxy's cut, an API restarted) or gone silent (ETIMEDOUT, undici's body timeout) is picked
   * up where it broke: the rest is asked for with `Range: bytes=<received>-` (with `If-Range`
   * when the first answer had a strong tag), through an API restart as a wait is
   * (`throughRestarts`), up to MAX_RESUMES times in a row without a byte more. Each part is
   * checked to continue the same results (resume.ts: their tag, its first byte, its length), so
   * the bytes come out once each, in order, as if nothing happened, or the download fails.
   * `from`: bytes an earlier download kept of results tagged `etag`: only the rest is asked
   * for, and the body starts at `start` (`from.bytes`), or at 0 when the results are not those
   * any more (another tag: the whole answer is asked for again).
   */
  private async openResults(id: string, { failedOnly, ...opts }: ResultsOptions, npy?: { output: string }, from?: { bytes: number; etag: string }): Promise<OpenedResults> {
    const open = (headers: Record<string, string | undefined>) => this.http.chunks({
      method: 'GET',
      path: `/v1/batches/${encodeURIComponent(id)}/results`,
      ...opts,
      query: { failed: failedOnly ? 'true' : undefined, output: npy?.output || undefined },
      // Only the array: a batch with failed lines (which an array cannot hold) is a 406.
      headers: { ...(npy ? { accept: 'application/x-npy' } : {}), ...headers },
    });
    let first: Awaited<ReturnType<typeof open>> | undefined;
    let start = 0;
    let total: number | undefined;
    if (from) {
      try {
        // No If-Range: the tag kept may have come weak (a compressed answer); the part's own tag is checked instead.
        first = await open({ range: `bytes=${from.bytes}-` });
      } catch (err) {
        if (!(err instanceof MaasApiError && err.status === 416)) throw err;
        // All of them were kept (cut off after the last byte): nothing is left to read.
        if (err.problem['length'] === from.bytes) return { start: from.bytes, etag: from.etag, body: (async function* () {})() };
        // More kept than the results hold: they are not their start. Asked for whole below.
      }
      if (first) {
        const headers = first.response.headers;
        const read = resumedPart({ status: first.response.status, contentRange: headers.get('content-range'), contentEncoding: headers.get('content-encoding'), etag: headers.get('etag') }, from.bytes, from.etag, undefined);
        if ('part' in read && read.part) {
          start = from.bytes;
          total = read.total;
        } else if ('refused' in read) {
          // Another tag (results that are not those kept), or a part that is not the rest: asked for whole below.
          await first.chunks.return();
          first = undefined;
        }
        // else the whole answer (a server or proxy that reads no Range): from byte 0.
      }
    }
    first ??= await open({});
    const firstTag = first.response.headers.get('etag');
    const tag = tagOf(firstTag);
    // If-Range takes a strong tag only; a weak one (a compressed whole answer) is checked here instead.
    const ifRange = firstTag && !firstTag.startsWith('W/') ? firstTag : undefined;
    const changed = (why: string) => new MaasProtocolError(`the results of batch ${id} cannot be resumed: ${why}`);
    const body = (async function* () {
      let answer = first;
      let received = start;
      let tries = 0;
      for (;;) {
        const before = received;
        let skip = 0;
        if (answer !== first && received > 0) {
          const read = resumedPart({ status: answer.response.status, contentRange: answer.response.headers.get('content-range'), contentEncoding: answer.response.headers.get('content-encoding'), etag: answer.response.headers.get('etag') }, received, tag, total);
          if ('refused' in read) {
            await answer.chunks.return();
            throw changed(read.refused);
          }
          if (read.part) total = read.total;
          else skip = received;
        }
        try {
          for await (const chunk of answer.chunks) {
            if (skip >= chunk.length) {
              skip -= chunk.length;
              continue;
            }
            const part = skip > 0 ? chunk.subarray(skip) : chunk;
            skip = 0;
            received += part.length;
            yield part;
          }
          if (skip > 0) throw changed(`the whole answer came again shorter than the ${received} bytes received before`);
          if (total !== undefined && received !== total) throw changed(`a part ended at byte ${received} of ${total}`);
          return;
        } catch (err) {
          if (!(err instanceof MaasConnectionError && (err.lost || RESUMABLE.has(err.code ?? '') || failedUntold(err)))) throw err;
          tries = received > before ? 1 : tries + 1;
          if (tries > MAX_RESUMES) throw err;
        }
        try {
          answer = await throughRestarts(() => open({ range: `bytes=${received}-`, 'if-range': ifRange }), Date.now() + RECONNECT_FOR_MS, opts.signal);
        } catch (err) {
          // Lost after the last byte, before the answer's end: nothing is left (the 416 says how long the results are).
          if (err instanceof MaasApiError && err.status === 416 && err.problem['length'] === received) return;
          throw err;
        }
      }
    })();
    return { start, etag: tag, body };
  }
}

/** Results opened for reading: `body` holds their bytes from `start` on; `etag` their tag's opaque part (`"…"`, weak or not), when they have one. */
interface OpenedResults {
  start: number;
  etag: string | undefined;
  body: AsyncGenerator<Uint8Array, void, undefined>;
}

/** The byte chunks of `source`, which must yield bytes only (`option` needs them): a line is a TypeError. */
async function* bytesOnly(source: LineSource<unknown>, option: string): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const item of source as AsyncIterable<unknown>) {
    if (!(item instanceof Uint8Array)) throw new TypeError(`${option} is for bytes (a file's, a stream's), not lines: lines are sent as NDJSON text`);
    yield item;
  }
}

/** A connection that went silent (a stalled Wi-Fi, a proxy holding it): resumed too, as one lost. */
const RESUMABLE = new Set(['ETIMEDOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Resumes of a results download that brought no byte more, before its connection error is thrown. */
const MAX_RESUMES = 5;

export interface ResultsOptions extends CallOptions {
  /** only the lines that failed, in input order (`?failed=true`: no outputs are read, so it is quick on a large batch) */
  failedOnly?: boolean;
}

export interface DownloadOptions extends ResultsOptions {
  /**
   * `npy`: one output's rows as a NumPy `.npy` file, row i of the array for line i (`Accept:
   * application/x-npy`), for a batch whose lines all succeeded (one with a failed line is a
   * MaasApiError 406: read it as NDJSON). Default `ndjson`.
   */
  format?: 'ndjson' | 'npy';
  /** with `npy`: the output the array holds (required when the model has several) */
  output?: string;
}

/** Counts bytes and lines of the chunks passing through (a last line without `\n` counts too; `binary`: bytes only). */
function counter(binary = false) {
  const counts = { bytes: 0, lines: 0 };
  let last = 0x0a;
  return {
    counts,
    see(chunk: Uint8Array) {
      counts.bytes += chunk.byteLength;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) counts.lines++;
      if (chunk.length) last = chunk[chunk.length - 1]!;
    },
    finish() {
      if (binary) counts.lines = 0;
      else if (last !== 0x0a) counts.lines++;
      return counts;
    },
  };
}
type Counter = ReturnType<typeof counter>;

/** Copies into a writable (stdout, which is not ours, or a file) with backpressure, without ending it, counting what it writes. */
async function copyTo(body: AsyncIterable<Uint8Array>, out: NodeJS.WritableStream, c: Counter): Promise<void> {
  let failed: unknown;
  const onError = (err: unknown) => (failed = err);
  out.on('error', onError);
  try {
    for await (const chunk of body) {
      if (failed) throw failed;
      c.see(chunk);
      // events.once rejects if the writable errors while we wait for it to drain.
      if (!out.write(chunk)) await once(out, 'drain');
    }
    if (failed) throw failed;
  } finally {
    out.removeListener('error', onError);
  }
}
