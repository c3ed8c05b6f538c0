/**
 * Compressed answers (RFC 9110 §12.5.3): an answer of 1 KB or more is sent `br`-, `gzip`- or
 * `deflate`-encoded when the request's `Accept-Encoding` asks for one (expressjs/compression
 * negotiates, preferring br, then gzip), with `Vary: Accept-Encoding`. What compresses:
 * - JSON and problem+json, NDJSON (batch results: 3.7–4× smaller), text (metrics, CSV) and HTML;
 * - a v2 infer answer in the binary tensor extension (`application/octet-stream` with
 *   `Inference-Header-Content-Length`, which still counts the JSON header's bytes before
 *   encoding): Triton compresses those when asked, and tritonclient's
 *   `response_compression_algorithm` asks;
 * - never a `.npy` result (float bytes shrink by a tenth at the price of the API's CPU), nor
 *   a part of an answer (a 206 to a `Range`: its `Content-Range` counts the bytes unencoded).
 *
 * Both encoders run at their fastest level (gzip 1, brotli quality 1): on 17 MB of NDJSON
 * results here, brotli 1 ran at 231 MB/s for a ratio of 4.0 and gzip 1 at 140 MB/s for 3.7,
 * against 43 MB/s (4.3) for the library's brotli default and 65 MB/s (3.8) for gzip's. The
 * work happens in libuv's thread pool, not on the event loop. A request without
 * `Accept-Encoding` (the benches' clients, curl without `--compressed`) skips the middleware,
 * its answer saying `Vary: Accept-Encoding` all the same. A HEAD is answered as the
 * middleware leaves it: with the length of the answer not encoded.
 */
import { constants } from 'node:zlib';
import compression from 'compression';
import type { Request, RequestHandler, Response } from 'express';

/** answers smaller than this go as they are (compressing them saves less than it costs) */
export const COMPRESS_THRESHOLD_BYTES = 1024;

/** Whether an answer of this type is worth compressing (the request asked for an encoding). */
export function compressible(type: string | undefined, binaryInfer: boolean): boolean {
  if (!type) return false;
  const base = type.split(';', 1)[0]!.trim().toLowerCase();
  if (base === 'application/octet-stream') return binaryInfer;
  if (base === 'application/x-ndjson') return true;
  return base.startsWith('text/') || base === 'application/json' || base.endsWith('+json');
}

function filter(_req: Request, res: Response): boolean {
  // A part of an answer (a 206) is of its bytes as they are: its Content-Range counts those.
  if (res.hasHeader('Content-Range')) return false;
  const type = res.getHeader('Content-Type');
  return compressible(typeof type === 'string' ? type : undefined, res.hasHeader('Inference-Header-Content-Length'));
}

export function compressAnswers(): RequestHandler {
  const compress = compression({
    filter,
    threshold: COMPRESS_THRESHOLD_BYTES,
    level: constants.Z_BEST_SPEED,
    brotli: { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } },
  });
  return (req, res, next) => {
    if (req.headers['accept-encoding'] === undefined) {
      // The answer would differ with the header: a shared cache must not give this one to a client that sends it.
      res.vary('Accept-Encoding');
      next();
      return;
    }
    compress(req, res, next);
  };
}
