/**
 * Batch results in parts (`Range`), and a download cut off that picks up where it broke. A
 * batch of three chunks, some lines failed: every part the API sends is the same bytes as that
 * slice of the whole answer, in each form (NDJSON, its failed lines, one output's `.npy`),
 * whichever chunk the part starts in. The SDK's downloadResults through a proxy that cuts the
 * connection twice mid-answer writes the same file as a download never cut, asking for the rest
 * with Range.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasClient } from '@maas/client';
import { call, Cluster, eventually, modelRepository, rows } from '../src/harness/index.js';

const LINES = 20_000; // three chunks of mlp's 32-float rows (8,192 a chunk)
const BAD = new Set([3, 9_000, 19_999]);
let cluster: Cluster;
let repo: Awaited<ReturnType<typeof modelRepository>>;
let dir: string;
let mixed: string; // a batch with failed lines
let clean: string; // one without: its .npy results exist

const body = (bad: Set<number>) => rows(7, LINES, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: bad.has(i) ? r.slice(0, 3) : r } })).join('\n');

async function submit(bad: Set<number>): Promise<string> {
  const res = await fetch(`${cluster.url}/v1/batches?model=mlp`, { method: 'POST', body: body(bad), headers: { 'content-type': 'application/x-ndjson' } });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
  return id;
}

/** The byte offset just past the `n`th line of `bytes` (where line n + 1 starts). */
function nthLineEnd(bytes: Buffer, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = bytes.indexOf(0x0a, at + 1);
  return at + 1;
}

/** GET of a batch's results (identity unless asked): status, headers and bytes. */
async function results(id: string, headers: Record<string, string> = {}, query = '') {
  const res = await fetch(`${cluster.url}/v1/batches/${id}/results${query}`, { headers: { 'accept-encoding': 'identity', ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

beforeAll(async () => {
  repo = await modelRepository();
  dir = await mkdtemp(join(tmpdir(), 'maas-ranges-'));
  cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'mlp' } });
  [mixed, clean] = await Promise.all([submit(BAD), submit(new Set())]);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Range on batch results', () => {
  const forms: { name: string; id: () => string; headers: Record<string, string>; query: string }[] = [
    { name: 'NDJSON', id: () => mixed, headers: {}, query: '' },
    { name: 'the failed lines', id: () => mixed, headers: {}, query: '?failed=true' },
    { name: '.npy of one output', id: () => clean, headers: { accept: 'application/x-npy' }, query: '?output=output' },
  ];
  for (const form of forms) {
    it(`sends ${form.name} in parts that are slices of the whole, from any chunk`, async () => {
      const whole = await results(form.id(), form.headers, form.query);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('accept-ranges')).toBe('bytes');
      const etag = whole.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);
      const total = whole.bytes.length;
      expect(total).toBeGreaterThan(300);
      // An .npy file's length is known before a chunk is read (the signature fixes a row's shape); NDJSON's is not.
      expect(whole.headers.get('content-length')).toBe(form.query === '?output=output' ? String(total) : null);
      const third = Math.floor(total / 3);
      const half = Math.floor(total / 2);
      // Where chunks 1 and 2 begin (8,192 lines a chunk): a part may start at, before or after one.
      const starts = form.query === '?output=output'
        ? [1, 2].map((c) => whole.bytes.length - (LINES - c * 8192) * 8)
        : form.query === '' ? [8192, 16384].map((line) => nthLineEnd(whole.bytes, line)) : [];
      const asks: [string, number, number][] = [
        [`bytes=${half}-`, half, total - 1],
        ...starts.flatMap((b): [string, number, number][] => [b - 1, b, b + 1].map((x) => [`bytes=${x}-${x + 99}`, x, x + 99])),
        ['bytes=0-0', 0, 0],
        ['bytes=0-', 0, total - 1],
        [`bytes=${third}-`, third, total - 1],
        [`bytes=${third - 7}-${2 * third + 11}`, third - 7, 2 * third + 11],
        [`bytes=${total - 1}-`, total - 1, total - 1],
        [`bytes=${total - 5}-${total + 100}`, total - 5, total - 1],
        ['bytes=-100', total - 100, total - 1],
        [`bytes=-${total + 5}`, 0, total - 1],
      ];
      for (const [range, start, end] of asks) {
        const part = await results(form.id(), { ...form.headers, range }, form.query);
        expect(part.status, range).toBe(206);
        expect(part.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${total}`);
        expect(Number(part.headers.get('content-length')), range).toBe(end - start + 1);
        expect(part.headers.get('etag'), range).toBe(etag);
        expect(part.bytes.equals(whole.bytes.subarray(start, end + 1)), range).toBe(true);
      }
    });
  }

  it('is a 416 naming the length past the end; several ranges, or an If-Range of another answer, send it whole', async () => {
    const whole = await results(mixed);
    const total = whole.bytes.length;
    const past = await results(mixed, { range: `bytes=${total}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${total}`);
    expect(JSON.parse(past.bytes.toString())).toMatchObject({ status: 416, type: 'urn:maas:problem:range-not-satisfiable', length: total });
    expect(past.headers.get('etag')).not.toBe(whole.headers.get('etag')); // the problem's own, if any
    // No line failed: an empty answer has no byte to range over.
    const none = await results(clean, { range: 'bytes=0-' }, '?failed=true');
    expect(none.status).toBe(416);
    expect(none.headers.get('content-range')).toBe('bytes */0');
    for (const headers of [{ range: 'bytes=0-9,20-29' } as Record<string, string>, { range: 'bytes=10-', 'if-range': '"another"' }, { range: 'bytes=10-', 'if-range': 'Sun, 06 Dec 2026 01:00:00 GMT' }, { range: 'lines=1-2' }]) {
      const again = await results(mixed, headers);
      expect(again.status, JSON.stringify(headers)).toBe(200);
      expect(again.bytes.equals(whole.bytes), JSON.stringify(headers)).toBe(true);
    }
    for (const ifRange of [whole.headers.get('etag')!, whole.headers.get('last-modified')!]) {
      const held = await results(mixed, { range: 'bytes=10-', 'if-range': ifRange });
      expect(held.status, ifRange).toBe(206);
      expect(held.bytes.equals(whole.bytes.subarray(10)), ifRange).toBe(true);
    }
  });

  it('sends a part unencoded to a client that takes gzip, and the whole answer compressed with its tag weak', async () => {
    const whole = await results(mixed);
    const part = await results(mixed, { range: 'bytes=100-199', 'accept-encoding': 'gzip' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-encoding')).toBeNull();
    expect(part.bytes.equals(whole.bytes.subarray(100, 200))).toBe(true);
    const zipped = await fetch(`${cluster.url}/v1/batches/${mixed}/results`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('etag')).toBe(`W/${whole.headers.get('etag')}`);
    expect(zipped.headers.get('last-modified')).toBe(whole.headers.get('last-modified'));
    expect(part.headers.get('etag')).toBe(whole.headers.get('etag'));
    expect(zipped.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await zipped.arrayBuffer()).equals(whole.bytes)).toBe(true);
  });

  it('is a 304 to a client that holds them (If-None-Match)', async () => {
    const whole = await results(clean, { accept: 'application/x-npy' });
    const etag = whole.headers.get('etag')!;
    const again = await results(clean, { accept: 'application/x-npy', 'if-none-match': `W/${etag}` });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.bytes.length).toBe(0);
    expect((await results(clean, { accept: 'application/x-npy', 'if-none-match': '"other"' })).status).toBe(200);
    const zipped = await results(mixed, { 'accept-encoding': 'gzip', 'if-none-match': (await results(mixed)).headers.get('etag')! });
    expect(zipped.status).toBe(304);
    expect(zipped.headers.get('content-encoding')).toBeNull();
    // If-Modified-Since its own Last-Modified: a 304; an earlier date, the whole answer.
    const lastModified = whole.headers.get('last-modified')!;
    expect((await results(clean, { accept: 'application/x-npy', 'if-modified-since': lastModified })).status).toBe(304);
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await results(clean, { accept: 'application/x-npy', 'if-modified-since': earlier })).status).toBe(200);
    // If-Match of another tag, or If-Unmodified-Since an earlier date: a 412; of its own tag, the answer.
    const failed = await results(clean, { accept: 'application/x-npy', 'if-match': '"another"' });
    expect(failed.status).toBe(412);
    expect(JSON.parse(failed.bytes.toString())).toMatchObject({ type: 'urn:maas:problem:precondition-failed' });
    expect((await results(clean, { accept: 'application/x-npy', 'if-unmodified-since': earlier })).status).toBe(412);
    expect((await results(clean, { accept: 'application/x-npy', 'if-match': etag })).bytes.equals(whole.bytes)).toBe(true);
    // An Accept that refuses NDJSON and takes no .npy: a 406; one that names neither: NDJSON.
    expect((await results(mixed, { accept: 'application/x-ndjson;q=0' })).status).toBe(406);
    expect((await results(mixed, { accept: 'application/json' })).headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  });

  it('stops counting for clients that ask for a part and leave before it is counted; the next part is counted afresh', async () => {
    // A batch of 50,000 lines that all fail their checks (no run, a quick upload), and five
    // clients that ask for a part of its results and leave at once: its count takes longer than
    // their leaving takes to be seen.
    const bad = Array.from({ length: 50_000 }, (_, i) => `{"custom_id":"x${i}","inputs":{"input":[${i}]}}`).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp`, { method: 'POST', body: bad, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}`)).body, (b) => b.completed_at !== null, { ms: 60_000, every: 100, what: 'the batch to complete' });
    const port = Number(new URL(cluster.url).port);
    await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /v1/batches/${id}/results HTTP/1.1\r\nHost: x\r\nRange: bytes=${i * 10}-\r\nAccept-Encoding: identity\r\n\r\n`, () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    })));
    await eventually(async () => (cluster.api.log.match(/went away while it was counted/g) ?? []).length, (n) => n === 5, { ms: 10_000, what: 'the five requests to end as their clients left' });
    const whole = await results(id);
    expect(whole.status).toBe(200);
    const part = await results(id, { range: 'bytes=1000-' });
    expect(part.status).toBe(206);
    expect(part.bytes.equals(whole.bytes.subarray(1000))).toBe(true);
    expect(cluster.api.log).not.toMatch(/unhandled|"level":(50|60)/i);
  });

  it('says so on HEAD', async () => {
    const res = await fetch(`${cluster.url}/v1/batches/${clean}/results`, { method: 'HEAD', headers: { accept: 'application/x-npy' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/npy/);
    const whole = await results(clean, { accept: 'application/x-npy' });
    expect(res.headers.get('content-length')).toBe(String(whole.bytes.length));
  });

  it('is a 416 for a first byte past the end in more digits than a double holds exactly (it was answered whole)', async () => {
    for (const range of ['bytes=99999999999999999999-', `bytes=${'9'.repeat(150)}-`]) {
      const r = await results(clean, { accept: 'application/x-npy', range });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range'), range).toMatch(/^bytes \*\/\d+$/);
    }
  });
});

/**
 * A TCP proxy to the API that cuts a connection once it has passed `cutAfter` bytes of answer,
 * `cuts` times in all, and notes the Range of each request it passes.
 */
async function cuttingProxy(target: number, cutAfter: number, cuts: number): Promise<{ url: string; ranges: string[]; cut: () => number; close: () => Promise<void> }> {
  const ranges: string[] = [];
  const sockets = new Set<Socket>();
  let made = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let passed = 0;
    client.on('data', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/^range: *(.*)\r$/gim)) ranges.push(m[1]!);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      passed += d.length;
      if (made < cuts && passed > cutAfter) {
        made++;
        client.write(d.subarray(0, d.length - (passed - cutAfter)));
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    cut: () => made,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the SDK downloading results through connections cut mid-answer', () => {
  for (const [name, id, options] of [
    ['NDJSON (compressed on the wire)', () => mixed, {}],
    ['.npy', () => clean, { format: 'npy' }],
  ] as const) {
    it(`writes ${name} whole, asking for the rest with Range`, async () => {
      const whole = await results(id(), 'format' in options ? { accept: 'application/x-npy' } : {}, '');
      const proxy = await cuttingProxy(Number(new URL(cluster.url).port), Math.floor(whole.bytes.length / 10), 2);
      try {
        const sdk = new MaasClient({ baseUrl: proxy.url });
        const file = join(dir, `${id()}-${'format' in options ? 'npy' : 'ndjson'}`);
        const written = await sdk.batches.downloadResults(id(), file, options);
        expect(proxy.cut()).toBe(2);
        expect(proxy.ranges).toHaveLength(2);
        expect(proxy.ranges.every((r) => /^bytes=\d+-$/.test(r))).toBe(true);
        const got = await readFile(file);
        expect(written.bytes).toBe(whole.bytes.length);
        expect(got.equals(whole.bytes)).toBe(true);
        if (!('format' in options)) expect(written.lines).toBe(LINES);
      } finally {
        await proxy.close();
      }
    });
  }

  it('reads results() line by line through a cut as well', async () => {
    const whole = await results(mixed);
    const proxy = await cuttingProxy(Number(new URL(cluster.url).port), Math.floor(whole.bytes.length / 10), 1);
    try {
      const sdk = new MaasClient({ baseUrl: proxy.url });
      const ids: string[] = [];
      let failed = 0;
      for await (const line of sdk.batches.results(mixed)) {
        ids.push(line.custom_id as string);
        if ('error' in line && line.error) failed++;
      }
      expect(proxy.cut()).toBe(1);
      expect(ids).toEqual(Array.from({ length: LINES }, (_, i) => `r${i}`));
      expect(failed).toBe(BAD.size);
    } finally {
      await proxy.close();
    }
  });
});
