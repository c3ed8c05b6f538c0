/** Waiting that a caller can interrupt: every wait in the SDK goes through here. */
import { connectionCode, failedUntold, MaasApiError } from './errors.js';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How long a wait keeps trying to reach an API that went away (a restart takes seconds; gone this long, it is gone). */
export const RECONNECT_FOR_MS = 60_000;

/**
 * The connection failures a restarting API gives: tried again by a wait (its reads are GETs,
 * safe to repeat). UND_ERR_SOCKET is fetch's (undici's) for a connection the server closed
 * mid-answer, as a process killed during a long-poll does.
 */
const RESTARTING = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * A gateway's answer while the API behind it is away (an ingress's or a proxy's 502 or 504
 * during a rolling update): not a problem of the API's own, whose types are `urn:maas:problem:…`
 * (its 504 `timeout` is an answer, not an absence).
 */
const gatewayAway = (err: unknown): boolean =>
  err instanceof MaasApiError && (err.status === 502 || err.status === 504) && !err.type.startsWith('urn:maas:problem:');

/**
 * `read` (a wait's GET, a create with an Idempotency-Key, a results download's resume) carried
 * through an API restart, as a rolling update or a crash and restart gives: a connection
 * refused, reset or closed mid-answer (where the runtime does not say why, as a browser's
 * "Failed to fetch", any failed connection), or a gateway's 502/504 in front of an API that is away,
 * is tried again, after 0.25 s doubling to 2 s,
 * for at most RECONNECT_FOR_MS in a row and never past `deadline`; anything else is thrown.
 */
export async function throughRestarts<T>(read: () => Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  let delay = 250;
  let since: number | undefined;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      const code = connectionCode(err);
      const now = Date.now();
      since ??= now;
      const away = (code !== undefined && RESTARTING.has(code)) || failedUntold(err) || gatewayAway(err);
      if (!away || signal?.aborted || now >= deadline || now - since + delay > RECONNECT_FOR_MS) throw err;
      // The last try at the deadline itself, not a pause short of it given up.
      await sleep(Math.min(delay, deadline - now), signal);
      delay = Math.min(2000, delay * 2);
    }
  }
}
