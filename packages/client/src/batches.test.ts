import { describe, expect, it } from 'vitest';
import { MaasClient } from './client.js';
import { MaasWaitTimeoutError } from './errors.js';

/** A fetch answering GET /v1/batches/b1 with the batch in `status(n)` for the n-th call, after `delayMs(url)`. */
function fakeFetch(status: (n: number) => string, delayMs: (url: URL) => number = () => 0) {
  const urls: URL[] = [];
  const impl = (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    urls.push(url);
    await new Promise((r) => setTimeout(r, delayMs(url)));
    const s = status(urls.length);
    const body = { id: 'b1', object: 'batch', status: s, counts: { total: 1, succeeded: s === 'succeeded' ? 1 : 0, failed: 0 }, completed_at: s === 'succeeded' ? new Date().toISOString() : null };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { impl, urls };
}

describe('batches.wait', () => {
  it('long-polls each request for intervalMs (?wait= in seconds), and resolves with the ended batch', async () => {
    const f = fakeFetch((n) => (n < 3 ? 'running' : 'succeeded'), (url) => Number(url.searchParams.get('wait')) * 1000);
    const seen: string[] = [];
    const done = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.wait('b1', { intervalMs: 150, onProgress: (b) => seen.push(b.status) });
    expect(done.status).toBe('succeeded');
    expect(seen).toEqual(['running', 'running', 'succeeded']);
    expect(f.urls.map((u) => u.searchParams.get('wait'))).toEqual(['0.15', '0.15', '0.15']);
  });

  it('against a server that answers at once (no long-poll), sleeps out the interval instead of spinning', async () => {
    const f = fakeFetch(() => 'running');
    const t0 = Date.now();
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.wait('b1', { intervalMs: 100, timeoutMs: 600 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasWaitTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(f.urls.length).toBeGreaterThanOrEqual(3);
    expect(f.urls.length).toBeLessThanOrEqual(9); // about one request an interval, not thousands
  });

  it('never long-polls past its own deadline', async () => {
    const f = fakeFetch(() => 'running', (url) => Number(url.searchParams.get('wait')) * 1000);
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.wait('b1', { intervalMs: 5000, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasWaitTimeoutError);
    expect(Number(f.urls[0]!.searchParams.get('wait'))).toBeLessThanOrEqual(0.3);
  });
});

describe('batches.submit', () => {
  /** A fetch answering the first `refusals` POSTs 429 (Retry-After: 0), then 202; it keeps each body it read. */
  function refusingFetch(refusals: number) {
    const bodies: string[] = [];
    const impl = (async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      bodies.push(await request.text());
      if (bodies.length <= refusals) {
        const problem = { type: 'urn:maas:problem:queue-full', title: 'Queue full', status: 429, detail: 'retry later' };
        return new Response(JSON.stringify(problem), { status: 429, headers: { 'content-type': 'application/problem+json', 'retry-after': '0' } });
      }
      const batch = { id: 'b1', object: 'batch', status: 'queued', counts: { total: 2, succeeded: 0, failed: 0 } };
      return new Response(JSON.stringify(batch), { status: 202, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { impl, bodies };
  }
  const lines = [{ inputs: { x: [1] } }, { inputs: { x: [2] } }];

  it('sends an array of lines again after a 429, whole each time', async () => {
    const f = refusingFetch(1);
    const batch = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.submit({ model: 'm', lines });
    expect(batch.id).toBe('b1');
    expect(f.bodies).toHaveLength(2);
    expect(f.bodies[1]).toBe(f.bodies[0]);
    expect(f.bodies[0]!.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(lines);
  });

  it('sends a generator once: a 429 is the caller\'s', async () => {
    const f = refusingFetch(1);
    function* generated() { yield* lines; }
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.submit({ model: 'm', lines: generated() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429 });
    expect(f.bodies).toHaveLength(1);
  });
});
