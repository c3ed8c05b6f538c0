/** The signal a long-poll waits with: aborted at shutdown, or when the client goes away. */

/** What requestSignal reads of a response (an express Response is one). */
export interface ClosingResponse {
  once(event: 'close', listener: () => void): unknown;
  readonly writableFinished: boolean;
}

/**
 * Aborts when `shutdown` does or `res` closes before its answer was sent (the client
 * disconnected), so a waiter leaves with its client rather than at its deadline. A response
 * that closes answered is not aborted: its waiter is done and has let go of the signal, and an
 * abort would only build an AbortError (a DOMException, with its stack) for every request:
 * the abort took 145 ms of the API's CPU in 3,050 one-client `Prefer: wait` jobs, about 48 µs a
 * job, in a profile (BENCHMARKS.md round 17).
 * (Not AbortSignal.any: each call would tie a new signal to the process-long `shutdown`.)
 */
export function requestSignal(res: ClosingResponse, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController();
  const abort = () => gone.abort();
  if (shutdown.aborted) abort();
  else shutdown.addEventListener('abort', abort, { once: true });
  res.once('close', () => {
    shutdown.removeEventListener('abort', abort);
    if (!res.writableFinished) abort();
  });
  return gone.signal;
}
