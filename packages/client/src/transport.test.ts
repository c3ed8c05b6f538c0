import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MaasClient } from './client.js';
import { MaasConnectionError, MaasProtocolError, MaasTimeoutError, MaasWaitTimeoutError } from './errors.js';
import { randomUuid } from './transport.js';

/** A client whose every request is answered 200 with `body` (another service on the port, a proxy's page). */
const answering = (body: unknown) =>
  new MaasClient({
    baseUrl: 'http://maas.test',
    retry: false,
    fetch: (async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })) as typeof fetch,
  });

describe('a 2xx JSON answer that is not what the contract says', () => {
  it('is a MaasProtocolError naming what was expected, for every resource (not a TypeError later)', async () => {
    const maas = answering({});
    const calls: [Promise<unknown>, RegExp][] = [
      [maas.jobs.get('j1'), /not a job object/],
      [maas.jobs.create({ model: 'm', inputs: [] }), /not a job object/],
      [maas.jobs.cancel('j1'), /not a job object/],
      [maas.batches.get('b1'), /not a batch object/],
      [maas.batches.cancel('b1'), /not a batch object/],
      [maas.batches.list(), /not a list object/],
      [maas.models.list(), /not a model list/],
      [maas.models.get('m'), /not model metadata/],
      [maas.infer('m', []), /not an inference answer/],
      [maas.webhookSecret(), /not a webhook secret/],
    ];
    for (const [call, message] of calls) {
      const err = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaasProtocolError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('lets the real shapes through', async () => {
    expect(await answering({ object: 'job', id: 'j1', status: 'queued' }).jobs.get('j1')).toMatchObject({ id: 'j1' });
    expect(await answering({ object: 'list', data: [], has_more: false }).batches.list()).toMatchObject({ object: 'list' });
    expect(await answering({ object: 'list', models: [] }).models.list()).toEqual([]);
  });
});

describe("a job's wait keeps to its timeout", () => {
  it('long-polls no longer than the time left (to 0.1 s), so it gives up on time', async () => {
    const waits: number[] = [];
    const impl = (async (input: string | URL | Request) => {
      const wait = Number(new URL(String(input)).searchParams.get('wait'));
      waits.push(wait);
      await new Promise((r) => setTimeout(r, wait * 1000)); // a server that holds the poll that long
      return new Response(JSON.stringify({ object: 'job', id: 'j1', status: 'queued' }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const t0 = Date.now();
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: impl }).jobs.wait('j1', { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasWaitTimeoutError);
    expect(Date.now() - t0).toBeLessThan(1900); // it asked for 2 s before
    expect(waits[0]).toBe(1.5);
  });
});

describe("a job's wait through a restart keeps to its timeout too", () => {
  it('a poll made after riding out refused connections asks only for the time left', async () => {
    let calls = 0;
    const waits: number[] = [];
    const impl = (async (input: string | URL | Request) => {
      if (++calls <= 3) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      const wait = Number(new URL(String(input)).searchParams.get('wait'));
      waits.push(wait);
      await new Promise((r) => setTimeout(r, wait * 1000));
      return new Response(JSON.stringify({ object: 'job', id: 'j1', status: 'queued' }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const t0 = Date.now();
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: impl }).jobs.wait('j1', { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasWaitTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3400); // 4.8 s when the poll asked for the time left before the restart
    expect(waits[0]).toBeLessThanOrEqual(1.3); // the refused tries took 1.75 s of the 3
  });
});

describe('a wait through an API restart', () => {
  /** A fetch that fails to connect (`code`) for the first `down` calls, then answers `body`. */
  const restarting = (down: number, code: string, body: unknown) => {
    let calls = 0;
    const impl = (async () => {
      if (++calls <= down) throw Object.assign(new TypeError('fetch failed'), { cause: { code } });
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { impl, calls: () => calls };
  };

  it('jobs.wait and batches.wait try again while the connection is refused or reset, then answer', async () => {
    const job = restarting(2, 'ECONNREFUSED', { object: 'job', id: 'j1', status: 'succeeded' });
    expect(await new MaasClient({ baseUrl: 'http://maas.test', fetch: job.impl }).jobs.wait('j1')).toMatchObject({ status: 'succeeded' });
    expect(job.calls()).toBe(3);
    const batch = restarting(1, 'ECONNRESET', { object: 'batch', id: 'b1', status: 'succeeded', counts: { total: 1, succeeded: 1, failed: 0 } });
    expect(await new MaasClient({ baseUrl: 'http://maas.test', fetch: batch.impl }).batches.wait('b1', { intervalMs: 100 })).toMatchObject({ status: 'succeeded' });
  });

  it('does not try again for a name that does not resolve, nor past the wait\'s own timeout', async () => {
    const nowhere = restarting(1, 'ENOTFOUND', { object: 'job', id: 'j1', status: 'succeeded' });
    expect(await new MaasClient({ baseUrl: 'http://maas.test', fetch: nowhere.impl }).jobs.wait('j1').catch((e: unknown) => e)).toBeInstanceOf(MaasConnectionError);
    const down = restarting(1000, 'ECONNREFUSED', {});
    const t0 = Date.now();
    expect(await new MaasClient({ baseUrl: 'http://maas.test', fetch: down.impl }).jobs.wait('j1', { timeoutMs: 1200 }).catch((e: unknown) => e)).toBeInstanceOf(MaasConnectionError);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1150); // tried until its deadline, not given up at the last pause short of it
    expect(down.calls()).toBe(4); // at 0, 0.25, 0.75 and 1.2 s
  });
});

describe('a batch upload refused while Redis was away', () => {
  const problem = (status: number, slug: string, retryAfter: string) =>
    new Response(JSON.stringify({ type: `urn:maas:problem:${slug}`, title: slug, status, detail: slug }), {
      status, headers: { 'content-type': 'application/problem+json', 'retry-after': retryAfter },
    });
  const batch = () => new Response(JSON.stringify({ object: 'batch', id: 'b1', status: 'queued' }), { status: 202, headers: { 'content-type': 'application/json' } });
  /** 503, then a 409 for the key (its first attempt still held), then the batch. */
  const server = () => {
    const keys: string[] = [];
    const impl = (async (_input: string | URL | Request, init?: RequestInit) => {
      keys.push((init?.headers as Record<string, string>)['idempotency-key']!);
      return keys.length === 1 ? problem(503, 'redis-unavailable', '0') : keys.length === 2 ? problem(409, 'idempotency-conflict', '27') : batch();
    }) as typeof fetch;
    return { keys, impl };
  };

  it('is sent again with its own key after a 409 for that key, waiting at most 2 s, not the 27 s asked', async () => {
    const { keys, impl } = server();
    const started = Date.now();
    const made = await new MaasClient({ baseUrl: 'http://maas.test', fetch: impl }).batches.submit({ model: 'm', lines: [{ inputs: { x: [1] } }] });
    expect(made).toMatchObject({ id: 'b1' });
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('throws the 409 for a key the caller chose (it may name another upload of theirs)', async () => {
    const { impl } = server();
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: impl }).batches.submit({ model: 'm', lines: [{ inputs: { x: [1] } }], idempotencyKey: 'mine' }).catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(409);
  });
});

describe('against a real HTTP server', () => {
  /** A server on a free port answering with `handle`; what it was asked is kept. */
  async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
    const asked: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      asked.push(req);
      handle(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return { port, asked, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
  }
  const job = JSON.stringify({ object: 'job', id: 'j1', status: 'queued' });

  it('a base URL with credentials and a query works (fetch refuses credentials in a URL): the key goes by Basic auth', async () => {
    const s = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(job));
    try {
      const maas = new MaasClient({ baseUrl: `http://me:S3CRET-key@127.0.0.1:${s.port}/gw/?token=t1`, retry: false });
      expect(maas.baseUrl).toBe(`http://127.0.0.1:${s.port}/gw`);
      expect(await maas.jobs.get('j1', { wait: 1 })).toMatchObject({ id: 'j1' });
      expect(s.asked[0]!.url).toBe('/gw/v1/jobs/j1?token=t1&wait=1');
      expect(s.asked[0]!.headers.authorization).toBe(`Basic ${Buffer.from('me:S3CRET-key').toString('base64')}`);
      // An apiKey given as well is the one sent.
      await new MaasClient({ baseUrl: `http://me:other@127.0.0.1:${s.port}`, apiKey: 'K', retry: false }).jobs.get('j1');
      expect(s.asked[1]!.headers.authorization).toBe('Bearer K');
    } finally {
      await s.close();
    }
  });

  it('an answer whose body stalls is a MaasTimeoutError that says the server answered, not that it cannot be reached', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"object":"job",'); // and nothing more
    });
    try {
      const err = await new MaasClient({ baseUrl: `http://127.0.0.1:${s.port}`, retry: false, timeoutMs: 300 }).jobs.get('j1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaasTimeoutError);
      expect(err).toMatchObject({ awaited: 'body', lost: true, timeoutMs: 300 });
      expect((err as Error).message).toBe(`http://127.0.0.1:${s.port}/v1/jobs/j1 answered, then its body did not finish within 300 ms`);
    } finally {
      await s.close();
    }
  });

  it("a call's own timeout still leaves a long-poll its wait (it cut the poll short before)", async () => {
    const s = await serve((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(job), 700));
    try {
      const maas = new MaasClient({ baseUrl: `http://127.0.0.1:${s.port}`, retry: false });
      expect(await maas.jobs.get('j1', { wait: 1, timeoutMs: 200 })).toMatchObject({ id: 'j1' });
      const err = await maas.jobs.get('j1', { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaasTimeoutError);
      expect(err).toMatchObject({ awaited: 'answer', lost: false });
    } finally {
      await s.close();
    }
  });
});

describe('randomUuid', () => {
  it('makes a v4 UUID from getRandomValues where randomUUID is missing (a page over plain http)', () => {
    const real = globalThis.crypto.randomUUID;
    try {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
      const ids = new Set(Array.from({ length: 100 }, () => randomUuid()));
      expect(ids.size).toBe(100);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: real, configurable: true });
    }
    expect(randomUuid()).toMatch(/^[0-9a-f-]{36}$/);
  });
});
