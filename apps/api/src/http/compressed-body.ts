/**
 * Compressed request bodies read whole (JSON, the binary tensor extension): received as they
 * are, then decompressed INFLATION_SLOTS at a time, to at most `maxBytes` (and each coding of a
 * stack, `gzip, gzip`, undone to at most as many: body-encoding.ts `inflateWhole`).
 *
 * Why: such a body may be MAX_BODY_MB once decompressed, and a gzip bomb makes that from a few
 * kilobytes (78 KB of gzip → 64 MB, refused with a 413 only once it is all in memory). Twenty
 * at once took the API to 2.7 GB. Here, what bombs can hold at once is INFLATION_SLOTS bodies'
 * worth, however many arrive. A slot is taken only once the compressed bytes are all in, and
 * given back once they are decompressed, so a client that sends slowly (or a large upload on a
 * slow link) holds none: the compressed bytes cost their sender their own size to send.
 *
 * The decompressed body is what the routes read: a JSON body parsed here as the app-wide parser
 * would (`parseJsonBytes`), a binary-framed one left as bytes for inferBody's framing. The
 * parsers after this find the request read and leave `req.body` as it is.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import getRawBody from 'raw-body';
import { contentCodings, inflateWhole, undoOrder, type Coding } from './body-encoding.js';

/** Compressed bodies decompressed at once: decompression is CPU work, so more gain no speed. */
export const INFLATION_SLOTS = 4;

/** Waits for one of `slots`; the function it resolves to gives it back. */
export function slots(count: number): () => Promise<() => void> {
  let busy = 0;
  const waiting: (() => void)[] = [];
  const leave = () => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };
  return () => new Promise((resolve) => {
    const enter = () => {
      let held = true;
      resolve(() => {
        if (held) {
          held = false;
          leave();
        }
      });
    };
    if (busy < count) {
      busy++;
      enter();
    } else {
      waiting.push(enter);
    }
  });
}

/**
 * Middleware before the body parsers, for requests whose body `reads` (read whole, not
 * streamed): a compressed body is received, decompressed (a slot of INFLATION_SLOTS) and made
 * `req.body` by `parse` (its bytes and whether the request is binary-framed).
 */
export function compressedBody(
  reads: (req: IncomingMessage) => boolean,
  maxBytes: number,
  parse: (req: IncomingMessage, bytes: Buffer) => unknown,
  slotCount = INFLATION_SLOTS,
): RequestHandler {
  const slot = slots(slotCount);
  return (req, _res, next) => {
    const codings = contentCodings(req);
    if (codings.length === 0 || !reads(req)) return next();
    let steps: Coding[];
    try {
      steps = undoOrder(codings);
    } catch (err) {
      return next(err);
    }
    void (async () => {
      // The compressed bytes, at most maxBytes of them: a body larger compressed is larger still decompressed.
      const compressed = await getRawBody(req, { limit: maxBytes });
      const release = await slot();
      let bytes: Buffer;
      try {
        bytes = await inflateWhole(compressed, steps, maxBytes, 'MAX_BODY_MB');
      } finally {
        release();
      }
      req.body = parse(req, bytes);
    })().then(() => next(), next);
  };
}
