/**
 * A streamed request body, decompressed per its `Content-Encoding` (gzip, deflate, br or
 * none), for routes that read their body as a stream (batch uploads).
 *
 * Every stream is joined with `pipeline`, so a corrupt or truncated compressed body is an
 * error of the returned iterable (a 400 that says what is wrong), never an unhandled
 * `'error'` event that would take the process down, and the request is destroyed with it.
 * The decompressed size is capped at `maxBytes` (a gzip bomb ends as a 413, promptly).
 */
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError, MalformedBodyError, PayloadTooLargeError } from '@maas/shared';

const DECODERS = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
} as const;

export const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

/** Counts decompressed bytes and fails the stream past `max`. */
class SizeCap extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) return done(new PayloadTooLargeError(`the decompressed body exceeds ${this.max} bytes`));
    done(null, chunk);
  }
}

/** zlib's own errors (`Z_DATA_ERROR`, `Z_BUF_ERROR`; brotli's `ERR__ERROR_FORMAT_…`): the body is corrupt. */
export function isDecompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR') || code.startsWith('ERR_BROTLI'));
}

async function* mapErrors(source: AsyncIterable<Buffer>, encoding: string): AsyncGenerator<Buffer> {
  try {
    yield* source;
  } catch (err) {
    if (isDecompressionError(err)) throw new MalformedBodyError(`the ${encoding} body is corrupt or truncated: ${(err as Error).message}`, err);
    throw err;
  }
}

/**
 * The body of `req` as a stream of decompressed bytes. Throws a 415 for an encoding we do not
 * read; decompression faults surface from the iterable.
 */
export function decodedBody(req: Readable & { headers: Record<string, string | string[] | undefined> }, maxBytes: number): AsyncIterable<Buffer> {
  const header = req.headers['content-encoding'];
  const encoding = (Array.isArray(header) ? header.join(',') : header ?? 'identity').trim().toLowerCase() || 'identity';
  if (encoding === 'identity') return req;
  const make = DECODERS[encoding as keyof typeof DECODERS];
  if (!make) throw new AppError('unsupported-media-type', `Content-Encoding ${encoding} is not supported (use ${SUPPORTED_ENCODINGS.join(', ')})`);
  // The callback is what keeps an error from being "unhandled": pipeline destroys every stream
  // with it and the iterator below rethrows it.
  const out = pipeline(req, make(), new SizeCap(maxBytes), () => {});
  return mapErrors(out, encoding);
}
