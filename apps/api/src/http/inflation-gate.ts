/**
 * Compressed request bodies read whole (JSON, the binary tensor extension) are decompressed at
 * most INFLATION_SLOTS at a time; the others wait their turn, their bytes left unread.
 *
 * Why: such a body may be MAX_BODY_MB once decompressed, and a gzip bomb makes that from a few
 * kilobytes (78 KB of gzip → 64 MB, refused with a 413 only once it is all in memory). Twenty of
 * them at once took the API to 2.7 GB. With the gate, what bombs can hold at once is
 * INFLATION_SLOTS bodies' worth, however many arrive; a body sent as it is (no
 * Content-Encoding) costs its client its own size to send and does not wait. Batch uploads
 * are streamed (body-encoding.ts), so they need no gate.
 *
 * A slot is held from before the body is read until it has been (`releaseInflation`: the
 * app-wide JSON parser's, or the route's own reading), or the response ends, whichever is first.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';

/** Compressed bodies decompressed at once: decompression is CPU work, so more gain no speed. */
export const INFLATION_SLOTS = 4;

const releases = new WeakMap<IncomingMessage, () => void>();

const compressed = (req: IncomingMessage): boolean => {
  const encoding = req.headers['content-encoding'];
  return encoding !== undefined && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '';
};

/** Ends the slot `req` holds, if any (once its body is read). */
export function releaseInflation(req: IncomingMessage): void {
  releases.get(req)?.();
}

/**
 * Middleware before the body parsers: a request with a compressed body that `reads` (read
 * whole, not streamed) waits for a slot; `slots` at most at once.
 */
export function inflationGate(reads: (req: IncomingMessage) => boolean, slots = INFLATION_SLOTS): RequestHandler {
  let busy = 0;
  const waiting: (() => void)[] = [];
  const leave = () => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };
  return (req, res, next) => {
    if (!compressed(req) || !reads(req)) return next();
    let held = false;
    let gone = false;
    const release = () => {
      if (held) {
        held = false;
        leave();
      }
      releases.delete(req);
    };
    const start = () => {
      if (gone) return leave(); // the client left while it waited: pass the slot on
      held = true;
      releases.set(req, release);
      next();
    };
    res.once('close', () => {
      gone = true;
      release();
    });
    if (busy < slots) {
      busy++;
      start();
    } else {
      waiting.push(start);
    }
  };
}
