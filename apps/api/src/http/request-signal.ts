/** The signal a long-poll waits with: stopped at shutdown, or when the client goes away. */
import { eitherStop, Stop, type StopSignal } from '../services/stop-signal.js';

/** What requestSignal reads of a response (an express Response is one). */
export interface ClosingResponse {
  once(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
  /** true once 'close' has been emitted */
  readonly closed: boolean;
}

/**
 * Aborts when `shutdown` does or `res` closes before its answer was sent (the client
 * disconnected), so a waiter leaves with its client rather than at its deadline. A response
 * that closes answered is not aborted: its waiter is done and has let go of the signal. (An
 * AbortSignal's abort builds an AbortError, a DOMException with its stack: that took 145 ms of
 * the API's CPU in 3,050 one-client `Prefer: wait` jobs, BENCHMARKS.md round 17; and making
 * AbortControllers took 6.5 µs a job, round 21: services/stop-signal.ts.)
 */
export function requestSignal(res: ClosingResponse, shutdown: StopSignal): StopSignal {
  return eitherStop(shutdown, clientGone(res));
}

/**
 * Stopped when `res` closes before its answer was sent (requestSignal without the shutdown),
 * also when it had closed before this was asked (the client left while the request was read or
 * its job made: 'close' is not emitted again).
 */
export function clientGone(res: ClosingResponse): StopSignal {
  const gone = new Stop();
  if (res.closed) {
    if (!res.writableFinished) gone.stop();
    return gone;
  }
  res.once('close', () => {
    if (!res.writableFinished) gone.stop();
  });
  return gone;
}
