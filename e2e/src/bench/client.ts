/**
 * The benches' HTTP client: undici's Pool (keep-alive connections, no WHATWG fetch layer).
 *
 * Why not `fetch`: on this 2-core machine the load generator shares the cores with Redis, the
 * API and the worker, and `fetch` cost 530-890 µs of CPU per request (measured with
 * /proc/<pid>/stat, 64 clients), more than the API it measures; a Pool request costs
 * 140-200 µs. The same client drives the service and the peer, so ratios stay like for like.
 */
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';

const pools = new Map<string, Pool>();

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) pools.set(origin, (pool = new Pool(origin, { connections: 256, pipelining: 1 })));
  return pool;
}

/** POSTs `payload` as JSON to `url` and returns the parsed answer; throws on an error status. */
export async function post(url: string, payload: unknown, headers: Record<string, string> = {}): Promise<any> {
  const { origin, pathname, search } = new URL(url);
  const res = await poolFor(origin).request({
    path: pathname + search, method: 'POST', body: JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers },
  });
  const json = (await res.body.json()) as any;
  if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

/** Any request through the pools: a streamed body (a file) goes out as it is read; the answer's body is a Node stream. */
export function send(url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: Readable | string } = {}): Promise<Dispatcher.ResponseData> {
  const { origin, pathname, search } = new URL(url);
  return poolFor(origin).request({ path: pathname + search, method: opts.method ?? 'GET', headers: opts.headers ?? {}, body: opts.body ?? null });
}

/**
 * Resolves once batch `id` of the service at `base` has completed: long-polls
 * (`?wait=30`, answered as the batch completes) as the SDK does, or, given `pollEveryMs`,
 * polls without waiting (how the benches waited before round 16, kept for A/B runs).
 */
export async function batchCompleted(base: string, id: string, pollEveryMs?: number): Promise<void> {
  const query = pollEveryMs === undefined ? '?wait=30' : '';
  for (;;) {
    const b = (await (await send(`${base}/v1/batches/${id}${query}`)).body.json()) as { completed_at: string | null };
    if (b.completed_at) return;
    if (pollEveryMs !== undefined) await new Promise((r) => setTimeout(r, pollEveryMs));
  }
}

/** Closes the pools (their sockets keep the process alive otherwise). */
export async function closeClients(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
}
