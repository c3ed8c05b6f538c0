/**
 * A streamed request body, decompressed per its `Content-Encoding` (gzip, deflate, br or
 * none), for routes that read their body as a stream (batch uploads).
 *
 * - The request is piped into a stream of our own (`detach`), and that stream, not the
 *   request, is what decompression and the consumer destroy when they stop early: the
 *   socket stays open for the answer (a 400 or 413), and `drainBody` discards the unread rest
 *   first, so the client is never cut off mid-send and reads a reset instead of the problem.
 * - A client that goes away mid-upload (or a socket the server times out) fails the stream,
 *   so the consumer stops and cleans up instead of waiting for an end that never comes.
 * - Every stream is joined with `pipeline`: a corrupt or truncated compressed body is an
 *   error of the returned iterable (a 400 that says what is wrong), never an unhandled
 *   `'error'` event that would take the process down.
 * - At most `maxBytes` are read after decompression (a gzip bomb ends as a 413, promptly).
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, createBrotliDecompress, createGunzip, createInflate, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { AppError, MalformedBodyError, PayloadTooLargeError } from '@maas/shared';

const DECODERS = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
} as const;

export const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

type InflateWhole = (buf: InputType, options: ZlibOptions) => Promise<Buffer>;
/** The same encodings, for a body decompressed whole (http/compressed-body.ts). */
export const INFLATE_WHOLE: Record<keyof typeof DECODERS, InflateWhole> = {
  gzip: promisify(gunzip) as InflateWhole,
  'x-gzip': promisify(gunzip) as InflateWhole,
  deflate: promisify(inflate) as InflateWhole,
  br: promisify(brotliDecompress) as InflateWhole,
};

/**
 * A request's Content-Encoding, lower-cased: `identity` when none is given, and `identity`
 * entries of a list left out (`gzip, identity` is gzip, RFC 9110 §8.4). Codings stacked on one
 * another (`gzip, br`) stay a list, which no decoder here reads: a 415.
 */
export function contentEncoding(req: { headers: Record<string, string | string[] | undefined> }): string {
  const header = req.headers['content-encoding'];
  if (header === undefined) return 'identity';
  const text = (Array.isArray(header) ? header.join(',') : header).trim().toLowerCase();
  if (!text.includes(',')) return text || 'identity';
  return text.split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity').join(', ') || 'identity';
}

/** A 415 naming an encoding that is not read. */
export const unsupportedEncoding = (encoding: string): AppError =>
  new AppError('unsupported-media-type', `Content-Encoding ${encoding} is not supported (use ${SUPPORTED_ENCODINGS.join(', ')})`);

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

async function* readCapped(source: AsyncIterable<Buffer>, maxBytes: number, encoding: string): AsyncGenerator<Buffer> {
  let seen = 0;
  try {
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > maxBytes) throw new PayloadTooLargeError(`the ${encoding === 'identity' ? '' : 'decompressed '}body exceeds ${maxBytes} bytes`);
      yield chunk;
    }
  } catch (err) {
    if (isDecompressionError(err)) throw new MalformedBodyError(`the ${encoding} body is corrupt or truncated: ${(err as Error).message}`, err);
    throw err;
  }
}

/**
 * The body of `req` as a stream of decompressed bytes, at most `maxBytes` of them. Throws a 415
 * for an encoding we do not read; decompression faults surface from the iterable.
 */
export function decodedBody(req: BodyRequest, maxBytes: number): AsyncIterable<Buffer> {
  const encoding = contentEncoding(req);
  const make = encoding === 'identity' ? undefined : DECODERS[encoding as keyof typeof DECODERS];
  if (encoding !== 'identity' && !make) throw unsupportedEncoding(encoding);
  const body = detach(req);
  if (!make) return readCapped(body, maxBytes, encoding);
  // Errors reach the consumer through the iterator below; the pipeline callback and the no-op
  // listener are what keep a second 'error' a decoder emits after the consumer stopped (a
  // truncated brotli body does that) from being "unhandled" and taking the process down.
  const decoder = make();
  decoder.on('error', () => {});
  return readCapped(pipeline(body, decoder, () => {}), maxBytes, encoding);
}

/** How long (and how much) the unread rest of a refused body is read and discarded before the answer. */
const DRAIN_MS = 5000;

/**
 * Reads and discards what is left of a body the route stopped reading: the answer goes out
 * once the client has sent it all, or after DRAIN_MS at most.
 */
export async function drainBody(req: BodyRequest): Promise<void> {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.resume();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, DRAIN_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    req.once('end', done);
    req.once('close', done);
  });
}
