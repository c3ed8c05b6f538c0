/**
 * A streamed request body, decompressed per its `Content-Encoding` (gzip, deflate, br or
 * none, or up to MAX_CODINGS of them stacked, `gzip, gzip`), for routes that read their body
 * as a stream (batch uploads).
 *
 * - The request is piped into a stream of our own (`detach`), and that stream, not the
 *   request, is what decompression and the route destroy when the consumer stopped early
 *   (DecodedBody.stop, or corruptRest once it has learnt whether a compressed rest is corrupt):
 *   the socket stays open for the answer (a 400 or 413), and `drainBody` discards the unread
 *   rest first, so the client is never cut off mid-send and reads a reset instead of the problem.
 * - A client that goes away mid-upload (or a socket the server times out) fails the stream,
 *   so the consumer stops and cleans up instead of waiting for an end that never comes.
 * - Every stream is joined with `pipeline`: a corrupt or truncated compressed body is an
 *   error of the returned iterable (a 400 that says what is wrong), never an unhandled
 *   `'error'` event that would take the process down.
 * - At most `maxBytes` are read after decompression (a gzip bomb ends as a 413, promptly), and
 *   at most as many come out of each coding undone on the way there (stacked codings: an outer
 *   layer that inflates to what the next decoder eats without a byte out, such as a gzip
 *   header's name field, is a bomb too).
 */
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, createBrotliDecompress, createGunzip, createInflate, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { AppError, MalformedBodyError, PayloadTooLargeError } from '@maas/shared';

const DECODERS = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
} as const;

/** A coding a decoder here undoes. */
export type Coding = keyof typeof DECODERS;

export const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

/** Codings undone at most when stacked (`gzip, gzip`): more is a 415 (each is another pass over the body). */
export const MAX_CODINGS = 3;

type InflateWhole = (buf: InputType, options: ZlibOptions) => Promise<Buffer>;
/** The same encodings, for a body decompressed whole (http/compressed-body.ts). */
const INFLATE_WHOLE: Record<Coding, InflateWhole> = {
  gzip: promisify(gunzip) as InflateWhole,
  'x-gzip': promisify(gunzip) as InflateWhole,
  deflate: promisify(inflate) as InflateWhole,
  br: promisify(brotliDecompress) as InflateWhole,
};

/**
 * The codings of a request's Content-Encoding, lower-cased, in the order they were applied
 * (RFC 9110 §8.4), `identity` entries left out (`gzip, identity` is gzip): [] for none.
 */
export function contentCodings(req: { headers: Record<string, string | string[] | undefined> }): string[] {
  const header = req.headers['content-encoding'];
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
}

/** Codings as a Content-Encoding names them (`identity` for none), for messages. */
export const codingsName = (codings: readonly string[]): string => codings.join(', ') || 'identity';

/**
 * PURE: the decoders that undo `codings` (as `contentCodings` lists them), in the order to run
 * them: the last coding applied first. A 415 for a coding not read here, or for more than MAX_CODINGS.
 */
export function undoOrder(codings: readonly string[]): Coding[] {
  const unknown = codings.find((c) => !Object.hasOwn(DECODERS, c));
  if (unknown !== undefined) throw unsupportedEncoding(codingsName(codings));
  if (codings.length > MAX_CODINGS) {
    throw new AppError('unsupported-media-type', `Content-Encoding ${codingsName(codings)} stacks ${codings.length} codings; at most ${MAX_CODINGS} are undone`, {}, ACCEPTED_CODINGS);
  }
  return [...(codings as Coding[])].reverse();
}

/** A 413 for what undoing `coding` (not the last to undo) made: more than `maxBytes`. */
const undoneTooLarge = (coding: Coding, maxBytes: number) =>
  new PayloadTooLargeError(`the body exceeds ${maxBytes} bytes once its ${coding} coding is undone (before the next)`);

/**
 * Decompresses a body held whole through `steps` (undoOrder's), each step's output at most
 * `maxBytes` (the last's is the body; `limitName` names that limit in the 413), a 400 for a
 * corrupt one.
 */
export async function inflateWhole(compressed: Buffer, steps: readonly Coding[], maxBytes: number, limitName?: string): Promise<Buffer> {
  let bytes = compressed;
  for (const [i, coding] of steps.entries()) {
    try {
      bytes = await INFLATE_WHOLE[coding](bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw i < steps.length - 1 ? undoneTooLarge(coding, maxBytes) : new PayloadTooLargeError(`the decompressed body exceeds ${maxBytes} bytes${limitName ? ` (${limitName})` : ''}`);
      }
      if (isDecompressionError(err)) throw new MalformedBodyError(`the ${codingsName([...steps].reverse())} body is corrupt or truncated: ${(err as Error).message}`, err);
      throw err;
    }
  }
  return bytes;
}

/** What a 415 for a body's coding says is read (RFC 9110 §15.5.16: `Accept-Encoding` in the answer). */
const ACCEPTED_CODINGS = { headers: { 'Accept-Encoding': SUPPORTED_ENCODINGS.join(', ') } };

/** A 415 naming an encoding that is not read. */
export const unsupportedEncoding = (encoding: string): AppError =>
  new AppError('unsupported-media-type', `Content-Encoding ${encoding} is not supported (use ${SUPPORTED_ENCODINGS.join(', ')}, or up to ${MAX_CODINGS} of them stacked)`, {}, ACCEPTED_CODINGS);

type BodyRequest = Readable & { headers: Record<string, string | string[] | undefined>; complete?: boolean };

/** zlib's own errors (`Z_DATA_ERROR`, `Z_BUF_ERROR`; brotli's `ERR__ERROR_FORMAT_…`): the body is corrupt. */
export function isDecompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR') || code.startsWith('ERR_BROTLI'));
}

/** The request's bytes through a stream of our own: destroying it leaves the request (and socket) alone. */
function detach(req: BodyRequest): PassThrough {
  const out = new PassThrough();
  const fail = (err?: Error) => out.destroy(err ?? new MalformedBodyError('the client closed the connection before the body ended'));
  req.once('error', fail);
  req.once('close', () => {
    if (!req.complete) fail();
  });
  req.pipe(out);
  return out;
}

/**
 * A request body's bytes, decompressed, at most `maxBytes` of them (a 413 past it; a 400 for a
 * corrupt body). Iterated once. A consumer that stops early (a line too long, a full queue)
 * leaves the rest unread, not destroyed: `stop` drops it, or `corruptRest` reads on to learn
 * whether the body was corrupt (see there).
 */
export class DecodedBody implements AsyncIterable<Buffer> {
  private seen = 0;
  /** the source, once a consumer stopped early, until `stop` or `corruptRest` */
  private left: AsyncIterator<Buffer> | undefined;

  constructor(
    private readonly source: Readable,
    private readonly maxBytes: number,
    /** the Content-Encoding (codingsName), `identity` for none */
    readonly encoding: string,
  ) {}

  private tooLarge(): PayloadTooLargeError {
    return new PayloadTooLargeError(`the ${this.encoding === 'identity' ? '' : 'decompressed '}body exceeds ${this.maxBytes} bytes`);
  }

  private corrupt(err: unknown): MalformedBodyError {
    return new MalformedBodyError(`the ${this.encoding} body is corrupt or truncated: ${(err as Error).message}`, err);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const it = this.source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let ended = false;
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) {
          ended = true;
          return;
        }
        this.seen += next.value.length;
        if (this.seen > this.maxBytes) throw this.tooLarge();
        yield next.value;
      }
    } catch (err) {
      ended = true;
      await it.return?.();
      if (isDecompressionError(err)) throw this.corrupt(err);
      throw err;
    } finally {
      if (!ended) this.left = it;
    }
  }

  /** Drops what a consumer that stopped early left unread (the request's rest is then drained raw: drainBody). */
  async stop(): Promise<void> {
    const it = this.left;
    this.left = undefined;
    await it?.return?.();
  }

  /**
   * After a consumer stopped early on a compressed body: reads on, decompressing and discarding,
   * to learn whether the body is corrupt, as a 400 says better than the stop's own answer (a
   * corrupt gzip body inflates to garbage, which can be a line longer than BATCH_MAX_LINE_MB
   * before gzip's checksum is read). Bounded by what the client sends anyway, by `ms`, and by
   * `probeBytes` of output more (CORRUPT_PROBE_BYTES: a corrupt deflate stream mostly fails
   * within its next blocks, and a 1.7 KB brotli body of 1 GiB of zeros, unbounded, cost 3.6 s of
   * CPU and 540 MB of the API's memory to answer); resolves with the 400, or undefined (not
   * corrupt, not compressed, or cut short). The rest is dropped after.
   */
  async corruptRest(ms: number, probeBytes = CORRUPT_PROBE_BYTES): Promise<MalformedBodyError | undefined> {
    const it = this.left;
    this.left = undefined;
    if (!it) return undefined;
    if (this.encoding === 'identity') {
      await it.return?.();
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<'time'>((resolve) => (timer = setTimeout(() => resolve('time'), ms)));
    const until = Math.min(this.maxBytes, this.seen + probeBytes);
    try {
      for (;;) {
        const next = await Promise.race([it.next(), timeUp]);
        if (next === 'time' || next.done) return undefined;
        this.seen += next.value.length;
        if (this.seen > until) return undefined;
      }
    } catch (err) {
      return isDecompressionError(err) ? this.corrupt(err) : undefined;
    } finally {
      clearTimeout(timer);
      this.source.destroy();
      void Promise.resolve(it.return?.()).catch(() => {});
    }
  }
}

/** Passes at most `maxBytes` through, then fails with undoneTooLarge (between two decoders). */
function byteCap(coding: Coding, maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > maxBytes ? undoneTooLarge(coding, maxBytes) : null, chunk);
    },
  });
}

/**
 * The body of `req` as a stream of decompressed bytes, at most `maxBytes` of them (and at most
 * as many out of each coding undone before the last). Throws a 415 for an encoding we do not
 * read (undoOrder); decompression faults surface from the iterable.
 */
export function decodedBody(req: BodyRequest, maxBytes: number): DecodedBody {
  const codings = contentCodings(req);
  const steps = undoOrder(codings);
  const body = detach(req);
  if (steps.length === 0) return new DecodedBody(body, maxBytes, 'identity');
  // Errors reach the consumer through the iterator below; the pipeline callback and the no-op
  // listeners are what keep a second 'error' a decoder emits after the consumer stopped (a
  // truncated brotli body does that) from being "unhandled" and taking the process down.
  const stages = steps.flatMap((coding, i) => {
    const decoder = DECODERS[coding]();
    decoder.on('error', () => {});
    return i < steps.length - 1 ? [decoder, byteCap(coding, maxBytes)] : [decoder];
  });
  const last = stages[stages.length - 1]!;
  pipeline([body, ...stages], () => {});
  return new DecodedBody(last as Readable, maxBytes, codingsName(codings));
}

/** Decompressed bytes `corruptRest` reads on at most, looking for a compressed body's fault. */
export const CORRUPT_PROBE_BYTES = 16 * 1024 * 1024;

/** How long (and how much) the unread rest of a refused body is read and discarded before the answer. */
export const DRAIN_MS = 5000;

/** Requests whose rest was drained once already: a second drain (a route's, then the problem handler's) does not wait again. */
const drained = new WeakSet<object>();

/**
 * Reads and discards what is left of a body the route stopped reading: the answer goes out
 * once the client has sent it all, or after `ms` (DRAIN_MS) at most, counted once a request.
 */
export async function drainBody(req: BodyRequest, ms = DRAIN_MS): Promise<void> {
  if (drained.has(req)) return;
  drained.add(req); // before the checks: a drain given no time left still counts as the request's one
  if (req.complete || req.destroyed || ms <= 0) return;
  req.unpipe();
  req.resume();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    req.once('end', done);
    req.once('close', done);
  });
}
