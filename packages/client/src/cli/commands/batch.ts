/**
 * `maas batch submit|get|list|wait|results|cancel`: NDJSON batches. `submit` streams the file from
 * disk (never read whole; a gzip file or an .npy array sent as its first bytes say, source.ts), prints the batch id on stdout, and — unless `--no-wait` — shows
 * progress on stderr until the batch ends, then streams the results to `--out`.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { ndjsonFile } from '../../batches.js';
import { redactUrl } from '../../base-url.js';
import { npyFile } from '../../npy.js';
import type { MaasClient } from '../../client.js';
import { MaasApiError } from '../../errors.js';
import type { Batch } from '../../types.js';
import { flag, Interrupted, requiredOpt, stringOpt, UsageError, versionOpt, type Command, type Context } from '../command.js';
import { EXIT_FAILED } from '../errors.js';
import { formatBytes, formatCount, formatDuration, formatJson, shellQuote } from '../format.js';
import { ProgressReporter } from '../progress.js';
import { openBatchInput } from '../source.js';

const outOption = { type: 'string', value: 'FILE', help: 'write the results (NDJSON, input order) to FILE' } as const;

/**
 * `--out` of a command that also prints to stdout (submit: the id; wait: nothing, but as
 * submit): `-` would mix the results into it, so it names `batch results`, whose stdout is
 * the results alone.
 */
function fileOut(ctx: Context): string | undefined {
  const out = stringOpt(ctx, 'out');
  if (out === '-') throw new UsageError('--out - : to write the results to stdout, run "maas batch results ID" once the batch has ended');
  return out;
}

export const batchSubmit: Command = {
  name: 'batch submit',
  summary: 'upload an NDJSON file (or a NumPy .npy array) as a batch, follow its progress, download the results',
  usage: 'FILE|- --model M [--version V] [--webhook URL] [--out FILE] [--no-wait]',
  args: { min: 1 },
  options: {
    model: { type: 'string', value: 'M', help: 'the model every line runs on' },
    version: { type: 'string', value: 'V', help: 'model version (default: the newest served)' },
    webhook: { type: 'string', value: 'URL', help: 'POST a signed batch.completed event to URL when it ends' },
    out: outOption,
    'no-wait': { type: 'boolean', help: 'print the batch id and return once it is accepted' },
  },
  details: [
    'One request a line, as tensors or in the compact one-row form:',
    '  {"custom_id": "r1", "inputs": {"features": [39.1, 18.7, 181, 3750]}}',
    '`-` reads from stdin; a FIFO (<(zcat rows.ndjson.gz)) or a device is read as stdin is.',
    'What the bytes are is read from them: a NumPy array (\\x93NUMPY, or a name ending .npy, any',
    'case) is sent as one, a gzip stream (rows.ndjson.gz, rows.npy.gz) as it is, with',
    'Content-Encoding: gzip; anything else as NDJSON.',
    'The batch id goes to stdout, progress and the summary to stderr.',
    'Exit code 0 when the batch succeeded (lines may still have failed one by one: see the',
    'summary and the results), 1 when it failed or was canceled.',
    '',
    'Examples:',
    '  maas batch submit rows.ndjson --model penguins --out results.ndjson',
    '  maas batch submit rows.npy --model mlp --out results.ndjson      # row i → result line i',
    '  id=$(maas batch submit rows.ndjson --model penguins --no-wait)',
    '  maas batch submit rows.ndjson.gz --model penguins --out results.ndjson',
    '  zcat rows.ndjson.gz | maas batch submit - --model penguins --out results.ndjson',
  ].join('\n'),
  async run(ctx) {
    const file = ctx.args[0]!;
    const model = requiredOpt(ctx, 'model');
    const version = versionOpt(ctx);
    const out = fileOut(ctx);
    if (out !== undefined && flag(ctx, 'no-wait')) throw new UsageError('--out needs the batch to end: drop --no-wait, or later run "maas batch wait ID --out FILE"');
    if (out !== undefined) await writableOut(out); // before an upload that may take a while
    const input = await openBatchInput(file, ctx.io.stdin as AsyncIterable<Uint8Array>);
    const size = input.kind === 'file' ? input.size : undefined;
    const { format, contentEncoding } = input.form;
    const client = ctx.client();
    const started = Date.now();
    const upload = new ProgressReporter(ctx.io.stderr, { label: `uploading ${file === '-' ? 'stdin' : input.kind === 'file' ? basename(file) : file}`, now: ctx.io.now });
    let batch: Batch;
    try {
      batch = await client.batches.submit({
        model,
        version,
        webhook: stringOpt(ctx, 'webhook'),
        lines: input.kind === 'stream' ? input.stream : format === 'npy' ? npyFile(input.path) : ndjsonFile(input.path),
        format,
        contentEncoding,
        signal: ctx.io.signal,
        onUploadProgress: (p) => upload.update(p.bytes, size, 'bytes'),
      });
    } catch (err) {
      if (ctx.io.signal.aborted) throw new Interrupted('upload stopped; no batch was created');
      throw err;
    } finally {
      upload.finish();
    }
    ctx.io.stdout.write(`${batch.id}\n`);
    ctx.io.stderr.write(`batch ${batch.id}: ${linesText(batch.counts.total)}${size === undefined ? '' : ` (${formatBytes(size)}${contentEncoding ? ` ${contentEncoding}` : ''})`} on ${model}${batch.version ? `/${batch.version}` : ''}\n`);
    if (flag(ctx, 'no-wait')) return;
    return follow(ctx, client, batch.id, out, started);
  },
};

export const batchWait: Command = {
  name: 'batch wait',
  summary: 'follow a batch until it ends (progress on stderr), then optionally download its results',
  usage: 'ID [--out FILE]',
  args: { min: 1 },
  options: { out: outOption },
  async run(ctx) {
    const out = fileOut(ctx);
    if (out !== undefined) await writableOut(out); // before following a batch that may take hours
    return follow(ctx, ctx.client(), ctx.args[0]!, out);
  },
};

export const batchGet: Command = {
  name: 'batch get',
  summary: 'print a batch: status and counts',
  usage: 'ID',
  args: { min: 1 },
  async run(ctx) {
    ctx.io.stdout.write(`${formatJson(await ctx.client().batches.get(ctx.args[0]!, { signal: ctx.io.signal }))}\n`);
  },
};

export const batchList: Command = {
  name: 'batch list',
  summary: 'print a page of your batches, newest first (JSON; the next page: --after its last_id)',
  usage: '[--limit N] [--after ID]',
  options: {
    limit: { type: 'string', value: 'N', help: 'batches a page, 1 to 100 (default 20)' },
    after: { type: 'string', value: 'ID', help: 'the last_id of the previous page' },
  },
  async run(ctx) {
    const limitText = stringOpt(ctx, 'limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) throw new UsageError(`--limit takes a whole number from 1 to 100 (got ${limitText})`);
    const page = await ctx.client().batches.list({ limit, after: stringOpt(ctx, 'after'), signal: ctx.io.signal });
    ctx.io.stdout.write(`${formatJson(page)}\n`);
  },
};

export const batchCancel: Command = {
  name: 'batch cancel',
  summary: 'cancel a batch and print it',
  usage: 'ID',
  args: { min: 1 },
  async run(ctx) {
    ctx.io.stdout.write(`${formatJson(await ctx.client().batches.cancel(ctx.args[0]!, { signal: ctx.io.signal }))}\n`);
  },
};

export const batchResults: Command = {
  name: 'batch results',
  summary: 'download the results of a finished batch (NDJSON, input order; or one output as .npy) to stdout or --out',
  usage: 'ID [--out FILE] [--failed | --npy [--output NAME]]',
  args: { min: 1 },
  options: {
    out: { ...outOption, help: 'write the results to FILE (a download cut off is resumed within this run; an interrupted one keeps FILE.partial, and the same command run again downloads only the rest); without it, or with -, to stdout' },
    failed: { type: 'boolean', help: 'only the lines that failed (quick on a large batch: no outputs are read)' },
    npy: { type: 'boolean', help: "one output's rows as a NumPy .npy file, row i for line i (a batch whose lines all succeeded)" },
    output: { type: 'string', value: 'NAME', help: 'with --npy: the output (required when the model has several)' },
  },
  async run(ctx) {
    const given = stringOpt(ctx, 'out');
    const out = given === '-' ? undefined : given; // `-`: stdout, as without --out
    const id = ctx.args[0]!;
    const npy = flag(ctx, 'npy');
    const output = stringOpt(ctx, 'output');
    if (npy && flag(ctx, 'failed')) throw new UsageError('--failed gives NDJSON lines (errors are no array): drop --npy');
    if (output !== undefined && !npy) throw new UsageError('--output names the array of --npy');
    if (out !== undefined) await writableOut(out); // before a download that may take a while
    const written = await ctx.client().batches.downloadResults(id, out ?? ctx.io.stdout, {
      signal: ctx.io.signal, failedOnly: flag(ctx, 'failed'), ...(npy ? { format: 'npy' as const, ...(output ? { output } : {}) } : {}),
    }).catch((err: unknown) => {
      throw err instanceof MaasApiError ? asFlags(err) : err;
    });
    if (out) ctx.io.stderr.write(npy ? `wrote ${formatBytes(written.bytes)} of .npy to ${out}\n` : wroteText(written, out));
  },
};

/**
 * PURE: an API error about the results' `?output=` query parameter (a 400 for a name the model
 * lacks, a 406 for none named of several outputs), told in the CLI's words: `--output NAME`.
 * The rest of its detail (the model's outputs) is kept; any other error is returned as it is.
 */
export function asFlags(err: MaasApiError): MaasApiError {
  if (!err.detail.includes('?output=')) return err;
  const detail = err.detail.replace(/\?output=…/g, '--output NAME').replace(/\?output=/g, '--output ');
  return new MaasApiError({ ...err.problem, detail }, err.retryAfter);
}

/** The line saying what a download wrote. */
const wroteText = (written: { lines: number; bytes: number }, out: string): string =>
  `wrote ${formatCount(written.lines)} result ${written.lines === 1 ? 'line' : 'lines'} (${formatBytes(written.bytes)}) to ${out}\n`;

/** Where `--out` writes (`<out>.partial`, renamed): a directory that exists, and not a directory itself. */
async function writableOut(out: string): Promise<void> {
  const s = await stat(out).catch(() => undefined);
  if (s?.isDirectory()) throw new UsageError(`--out ${out} is a directory: name a file in it`);
  const dir = await stat(dirname(out)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UsageError(`--out ${out}: no such directory ${dirname(out)}`);
}

/** Progress until the batch ends, a summary, and the results to `out`. */
async function follow(ctx: Context, client: MaasClient, id: string, out: string | undefined, startedMs?: number): Promise<number> {
  const url = stringOpt(ctx, 'url');
  const progress = new ProgressReporter(ctx.io.stderr, { label: id, now: ctx.io.now });
  let batch: Batch;
  try {
    batch = await client.batches.wait(id, {
      signal: ctx.io.signal,
      onProgress: (b) => progress.update(b.counts.succeeded + b.counts.failed, b.counts.total, 'lines', `${id} ${b.status}`),
    });
  } catch (err) {
    if (ctx.io.signal.aborted) {
      throw new Interrupted(`batch ${id} goes on running on the server; follow it with "${batchCommand('wait', id, out, url)}", stop it with "${batchCommand('cancel', id, undefined, url)}"`);
    }
    throw err;
  } finally {
    progress.finish();
  }
  ctx.io.stderr.write(`${summary(batch, startedMs)}\n`);
  if (batch.status !== 'succeeded') {
    // Its results exist all the same (each line's error, or outputs for what ran): say where, rather than nothing.
    if (out) ctx.io.stderr.write(`results not written to ${out}: the batch ended ${batch.status}; read what it has with "${batchCommand('results', id, out, url)}"\n`);
    return EXIT_FAILED;
  }
  if (!out) {
    ctx.io.stderr.write(`results: ${batchCommand('results', id, 'results.ndjson', url)}\n`);
    return 0;
  }
  let written;
  try {
    written = await client.batches.downloadResults(id, out, { signal: ctx.io.signal });
  } catch (err) {
    if (ctx.io.signal.aborted) throw new Interrupted(`batch ${id} has ended, its results not all written; get them with "${batchCommand('results', id, out, url)}" (it goes on from what ${out}.partial kept, if anything)`);
    throw err;
  }
  ctx.io.stderr.write(wroteText(written, out));
  return 0;
}

/**
 * PURE: the `maas batch <verb>` command a user copies to pick up a batch where this run left it,
 * with its `--out` (the results file) and `--url` (when given as a flag: MAAS_URL is still set),
 * each quoted for a shell. A key given with --api-key, or in the URL, is not repeated: it is a secret.
 */
export function batchCommand(verb: 'wait' | 'results' | 'cancel', id: string, out?: string, url?: string): string {
  // A relative path starting with `-` would read as an option: `./` names the same file.
  const path = out?.startsWith('-') ? `./${out}` : out;
  return ['maas', 'batch', verb, shellQuote(id), ...(url !== undefined ? ['--url', shellQuote(redactUrl(url))] : []), ...(path !== undefined ? ['--out', shellQuote(path)] : [])].join(' ');
}

/**
 * `batch b_1 succeeded in 1m21s: 999,990 lines succeeded, 10 failed (12,345 lines/s)`. Counts are
 * per line (an .npy upload's row i is line i). The rate counts the lines that ran over the time
 * taken; a canceled batch's `failed` also counts the lines its cancel ended unrun, so its rate
 * counts its succeeded lines alone, and says so.
 */
export function summary(batch: Batch, startedMs?: number, nowMs = Date.now()): string {
  const { total, succeeded, failed } = batch.counts;
  // One clock for both ends: ours when we timed it, else the server's timestamps.
  const from = startedMs ?? Date.parse(batch.created_at);
  const to = startedMs !== undefined ? nowMs : batch.completed_at ? Date.parse(batch.completed_at) : nowMs;
  const seconds = Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, (to - from) / 1000) : undefined;
  const canceled = batch.status === 'canceled';
  const ran = canceled ? succeeded : succeeded + failed;
  const rate = seconds && ran > 0 ? ` (${formatCount(ran / seconds)} ${canceled ? 'succeeded lines/s' : 'lines/s'})` : '';
  const error = batch.error?.message;
  return [
    `batch ${batch.id} ${batch.status}${seconds !== undefined ? ` in ${formatDuration(seconds)}` : ''}: `,
    `${linesText(succeeded)} succeeded, ${formatCount(failed)} failed`,
    total !== succeeded + failed ? ` of ${formatCount(total)}` : '',
    rate,
    error ? `\n  ${error}` : '',
  ].join('');
}

const linesText = (n: number) => `${formatCount(n)} ${n === 1 ? 'line' : 'lines'}`;
