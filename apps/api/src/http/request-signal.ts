/** The signal a long-poll waits with: aborted at shutdown, or when the client goes away. */
import type { Response } from 'express';

/**
 * Aborts when `shutdown` does or `res` closes (the client disconnected; once the answer is
 * sent nobody listens any more), so a waiter leaves with its client rather than at its deadline.
 * (Not AbortSignal.any: each call would tie a new signal to the process-long `shutdown`.)
 */
export function requestSignal(res: Response, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController();
  const abort = () => gone.abort();
  if (shutdown.aborted) abort();
  else shutdown.addEventListener('abort', abort, { once: true });
  res.once('close', () => {
    shutdown.removeEventListener('abort', abort);
    abort();
  });
  return gone.signal;
}
