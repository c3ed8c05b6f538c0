/**
 * `Expect: 100-continue` for a route that reads its body as a stream (batch uploads): the 100
 * goes out when the body is first read, so whatever the route refuses before that, from the
 * headers and the query alone (an unknown model, a type it does not read, a full queue), is
 * answered without the client sending a byte of it. The server leaves the 100 to the app
 * (server.ts); app.ts sends it at once for every other request it does not refuse.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Whether the client waits for a 100 before it sends its body. */
export const waitsFor100 = (req: IncomingMessage): boolean => req.headers.expect?.toLowerCase() === '100-continue';

/** The answers a 100 went out on. */
const continued = new WeakSet<object>();

/** Sends the 100 (once). */
export function sendContinue(res: Pick<ServerResponse, 'writeContinue'>): void {
  if (continued.has(res)) return;
  continued.add(res);
  res.writeContinue();
}

/**
 * Whether the client sends its body: it did not wait for a 100, or was sent one. A refused
 * request whose body may follow is answered once the rest is drained (problem.ts); one whose
 * client still waits for the 100 sends none, and is answered at once.
 */
export const bodyMayFollow = (req: IncomingMessage, res: object): boolean => !waitsFor100(req) || continued.has(res);

export interface ContinuedBody {
  body: AsyncIterable<Buffer>;
  /**
   * Whether the client was asked for its body (sent the 100, or it did not wait for one): only
   * then may the rest of a refused body be on its way, to be drained before the answer.
   */
  asked: () => boolean;
}

/** `body`, the 100 sent to a client that waits for it as `body` is first read. */
export function continueOnRead(req: IncomingMessage, res: Pick<ServerResponse, 'writeContinue'>, body: AsyncIterable<Buffer>): ContinuedBody {
  return {
    body: (async function* () {
      if (waitsFor100(req)) sendContinue(res);
      yield* body;
    })(),
    asked: () => bodyMayFollow(req, res),
  };
}
