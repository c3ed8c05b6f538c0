import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ndjsonFile } from './batches.js';
import { MaasClient } from './client.js';
import { MaasConnectionError, MaasWaitTimeoutError } from './errors.js';
import { encodeNpy } from './npy.js';

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

  it('a canceled batch is waited for until it has ended (completed_at): its running chunks finish first, and its results are a 409 until then', async () => {
    let calls = 0;
    const impl = (async () => {
      calls++;
      const ended = calls >= 3;
      const body = { id: 'b1', object: 'batch', status: 'canceled', counts: { total: 4, succeeded: ended ? 3 : 2, failed: ended ? 1 : 0 }, completed_at: ended ? new Date().toISOString() : null };
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const done = await new MaasClient({ baseUrl: 'http://maas.test', fetch: impl }).batches.wait('b1', { intervalMs: 50 });
    expect(calls).toBe(3);
    expect(done.counts).toEqual({ total: 4, succeeded: 3, failed: 1 });
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
    const requests: { headers: Headers; bytes: Buffer }[] = [];
    const impl = (async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      const bytes = Buffer.from(await request.arrayBuffer());
      requests.push({ headers: request.headers, bytes });
      bodies.push(bytes.toString('utf8'));
      if (bodies.length <= refusals) {
        const problem = { type: 'urn:maas:problem:queue-full', title: 'Queue full', status: 429, detail: 'retry later' };
        return new Response(JSON.stringify(problem), { status: 429, headers: { 'content-type': 'application/problem+json', 'retry-after': '0' } });
      }
      const batch = { id: 'b1', object: 'batch', status: 'queued', counts: { total: 2, succeeded: 0, failed: 0 } };
      return new Response(JSON.stringify(batch), { status: 202, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { impl, bodies, requests };
  }
  const lines = [{ inputs: { x: [1] } }, { inputs: { x: [2] } }];
  const ndjson = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

  it('sends an array of lines again after a 429, whole each time', async () => {
    const f = refusingFetch(1);
    const batch = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.submit({ model: 'm', lines });
    expect(batch.id).toBe('b1');
    expect(f.bodies).toHaveLength(2);
    expect(f.bodies[1]).toBe(f.bodies[0]);
    expect(f.bodies[0]!.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(lines);
  });

  it('an upload whose answer is lost (the connection reset once the body was read) is sent again with the same key, answering the one batch it made', async () => {
    const keys: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        keys.push(String(req.headers['idempotency-key']));
        // A proxy dropping the 202 of the first attempt: the server made the batch all the same.
        if (keys.length === 1) return void req.socket.destroy();
        res.writeHead(202, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
        res.end(JSON.stringify({ id: 'b1', object: 'batch', status: 'queued', counts: { total: 2, succeeded: 0, failed: 0 } }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new MaasClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retry: { baseDelayMs: 10 } });
      expect((await client.batches.submit({ model: 'm', lines })).id).toBe('b1');
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^maas-client-/);
      expect(keys[1]).toBe(keys[0]);
      // A key of the caller's own is the caller's to resend: a lost answer is thrown.
      keys.length = 0;
      expect(await client.batches.submit({ model: 'm', lines, idempotencyKey: 'mine' }).catch((e: unknown) => e)).toBeInstanceOf(MaasConnectionError);
      expect(keys).toEqual(['mine']);
    } finally {
      server.close();
    }
  });

  it('sends a generator once: a 429 is the caller\'s', async () => {
    const f = refusingFetch(1);
    function* generated() { yield* lines; }
    const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.submit({ model: 'm', lines: generated() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429 });
    expect(f.bodies).toHaveLength(1);
  });

  it('sends compressed bytes as they are, with their Content-Encoding: a gzip file, and an .npy from a byte stream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-gz-'));
    try {
      const file = join(dir, 'rows.ndjson.gz');
      const gz = gzipSync(ndjson);
      await writeFile(file, gz);
      const f = refusingFetch(1); // a file is read again for the retry, compressed as it was
      await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.submit({ model: 'm', lines: ndjsonFile(file), contentEncoding: 'gzip' });
      expect(f.requests).toHaveLength(2);
      for (const r of f.requests) {
        expect(r.headers.get('content-encoding')).toBe('gzip');
        expect(r.headers.get('content-type')).toBe('application/x-ndjson');
        expect(r.bytes.equals(gz)).toBe(true);
      }
      const npy = gzipSync(encodeNpy(Float32Array.of(1, 2), [2, 1]));
      const g = refusingFetch(0);
      await new MaasClient({ baseUrl: 'http://maas.test', fetch: g.impl }).batches.submit({ model: 'm', lines: Readable.from([npy.subarray(0, 7), npy.subarray(7)]), format: 'npy', contentEncoding: 'gzip' });
      expect(g.requests[0]!.headers.get('content-type')).toBe('application/x-npy');
      expect(g.requests[0]!.headers.get('content-encoding')).toBe('gzip');
      expect(g.requests[0]!.bytes.equals(npy)).toBe(true);
      const plain = refusingFetch(0);
      await new MaasClient({ baseUrl: 'http://maas.test', fetch: plain.impl }).batches.submit({ model: 'm', lines });
      expect(plain.requests[0]!.headers.get('content-encoding')).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses contentEncoding or format: "npy" for lines (they are NDJSON text), and a format that contradicts the file', async () => {
    const maas = new MaasClient({ baseUrl: 'http://maas.test', fetch: refusingFetch(0).impl });
    await expect(maas.batches.submit({ model: 'm', lines, contentEncoding: 'gzip' })).rejects.toThrow(/contentEncoding is for bytes/);
    await expect(maas.batches.submit({ model: 'm', lines, format: 'npy' })).rejects.toThrow(/format: 'npy' is for bytes/);
    await expect(maas.batches.submit({ model: 'm', lines: ndjsonFile('x'), format: 'npy' })).rejects.toThrow(/contradicts ndjsonFile/);
  });

  it('reads a FIFO as a stream: once (a 429 is the caller\'s), its size unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-fifo-'));
    try {
      const fifo = join(dir, 'rows');
      execFileSync('mkfifo', [fifo]);
      createWriteStream(fifo).end(ndjson);
      const f = refusingFetch(1);
      const totals = new Set<number | undefined>();
      const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches
        .submit({ model: 'm', lines: ndjsonFile(fifo), onUploadProgress: (p) => totals.add(p.totalBytes) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 429 });
      expect(f.bodies).toEqual([ndjson]);
      expect([...totals]).toEqual([undefined]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a results download the server cuts off', () => {
  it('fails as MaasConnectionError (lost mid-answer) once resuming brings no byte more, from results() and downloadResults(), leaving no file behind', async () => {
    // A real server (fetch's own errors): half the lines, then the connection destroyed, every time (a Range too).
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"custom_id":"r0","outputs":[]}\n{"custom_id":"r1","outp');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const dir = await mkdtemp(join(tmpdir(), 'maas-cut-'));
    try {
      const maas = new MaasClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const seen: string[] = [];
      const err = await (async () => {
        for await (const line of maas.batches.results('b1')) seen.push(line.custom_id!);
      })().catch((e: unknown) => e);
      expect(seen).toEqual(['r0']);
      expect(err).toBeInstanceOf(MaasConnectionError);
      expect((err as MaasConnectionError).message).toMatch(/^lost the connection to http:\/\/127\.0\.0\.1:\d+\/v1\/batches\/b1\/results/);
      const out = join(dir, 'results.ndjson');
      await expect(maas.batches.downloadResults('b1', out)).rejects.toBeInstanceOf(MaasConnectionError);
      expect(await readdir(dir)).toEqual([]); // neither the file nor its .partial
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('downloadResults to a path it cannot rename onto', () => {
  it('names the target, not its .partial, and leaves no .partial behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-rename-'));
    try {
      const f = resultsFetch({});
      const target = join(dir, 'd');
      await mkdir(join(target, 'inside'), { recursive: true }); // a directory that is not empty: no rename onto it
      const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.downloadResults('b1', target).catch((e: unknown) => e);
      expect(err).toMatchObject({ path: target });
      expect((err as NodeJS.ErrnoException).code).toMatch(/^(EISDIR|ENOTEMPTY|EEXIST)$/);
      expect(await readdir(dir)).toEqual(['d']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A fetch serving `TEXT` as batch results: each answer in turn breaks after `cutAt[n]` bytes (a
 * socket closed mid-answer, as undici reports it), and `range: false` answers a Range with the
 * whole text (a server that reads none); `etag` tags every answer.
 */
function resultsFetch({ cutAt = [] as number[], range = true, etag = undefined as string | undefined, changed = false, code = 'UND_ERR_SOCKET' }) {
  const TEXT = Array.from({ length: 400 }, (_, i) => `{"custom_id":"r${i}","outputs":{"y":[${i}]}}\n`).join('');
  const asked: (string | null)[] = [];
  const impl = (async (_input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    asked.push(headers.get('range'));
    const n = asked.length - 1;
    const m = /^bytes=(\d+)-$/.exec(headers.get('range') ?? '');
    const holds = !changed && (!headers.get('if-range') || headers.get('if-range') === etag);
    const start = m && range && holds ? Number(m[1]) : 0;
    if (start >= TEXT.length && m && range) return new Response(JSON.stringify({ type: 'urn:maas:problem:range-not-satisfiable', title: 'Range not satisfiable', status: 416, length: TEXT.length }), { status: 416, headers: { 'content-type': 'application/problem+json' } });
    const bytes = Buffer.from(TEXT.slice(start));
    const cut = cutAt[n];
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (!sent) {
          sent = true;
          c.enqueue(cut === undefined ? bytes : bytes.subarray(0, cut));
        } else if (cut === undefined) {
          c.close();
        } else {
          c.error(Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('other side closed'), { code }) }));
        }
      },
    });
    const tag = changed && n > 0 ? '"another"' : etag;
    const part: Record<string, string> = start > 0 ? { 'content-range': `bytes ${start}-${TEXT.length - 1}/${TEXT.length}` } : {};
    return new Response(body, { status: start > 0 ? 206 : 200, headers: { 'content-type': 'application/x-ndjson', ...part, ...(tag ? { etag: tag } : {}) } });
  }) as typeof fetch;
  return { impl, asked, TEXT };
}

describe('batches.results through a connection lost mid-answer', () => {
  const read = async (f: ReturnType<typeof resultsFetch>) => {
    let text = '';
    for await (const line of new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.results('b1')) text += `${JSON.stringify(line)}\n`;
    return text;
  };
  it('asks for the rest with Range, and reads every line once, in order', async () => {
    const f = resultsFetch({ cutAt: [1000, 3000, 0], etag: '"t"' });
    expect(await read(f)).toBe(f.TEXT);
    expect(f.asked).toEqual([null, 'bytes=1000-', 'bytes=4000-', 'bytes=4000-']);
  });
  it('skips what it has of a whole answer sent again by a server that reads no Range', async () => {
    const f = resultsFetch({ cutAt: [1234], range: false });
    expect(await read(f)).toBe(f.TEXT);
    expect(f.asked).toEqual([null, 'bytes=1234-']);
  });
  it('ends when the rest is nothing (a 416: lost after the last byte)', async () => {
    const f = resultsFetch({ cutAt: [] });
    const whole = f.TEXT.length;
    const g = resultsFetch({ cutAt: [whole] });
    expect(await read(g)).toBe(g.TEXT);
    expect(g.asked).toEqual([null, `bytes=${whole}-`]);
  });
  it('refuses an answer that is no longer the one it had part of (If-Range did not hold: another tag)', async () => {
    const f = resultsFetch({ cutAt: [500], etag: '"t"', changed: true });
    await expect(read(f)).rejects.toThrow(/cannot be resumed: they are not those whose first 500 bytes were received \(their tag changed/);
  });
  it('resumes a body gone silent (undici\'s body timeout), as one lost', async () => {
    const f = resultsFetch({ cutAt: [700], etag: '"t"', code: 'UND_ERR_BODY_TIMEOUT' });
    expect(await read(f)).toBe(f.TEXT);
    expect(f.asked).toEqual([null, 'bytes=700-']);
  });
  it('gives up after 5 tries in a row that bring no byte more', async () => {
    const f = resultsFetch({ cutAt: [100, 0, 0, 0, 0, 0, 0, 0] });
    const err = await read(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasConnectionError);
    expect(f.asked).toHaveLength(6);
  });
});

describe('downloadResults interrupted, then called again', () => {
  const cutOff = () => resultsFetch({ cutAt: [1000, 0, 0, 0, 0, 0, 0], etag: '"t"' });
  const download = (f: ReturnType<typeof resultsFetch>, out: string, signal?: AbortSignal) =>
    new MaasClient({ baseUrl: 'http://maas.test', fetch: f.impl }).batches.downloadResults('b1', out, { signal });

  it('keeps the bytes it had, and the next call asks only for the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-kept-'));
    try {
      const out = join(dir, 'results.ndjson');
      await expect(download(cutOff(), out)).rejects.toBeInstanceOf(MaasConnectionError);
      expect((await readdir(dir)).sort()).toEqual(['results.ndjson.partial', 'results.ndjson.partial.json']);
      expect((await stat(`${out}.partial`)).size).toBe(1000);
      const again = resultsFetch({ etag: '"t"' });
      expect(await download(again, out)).toEqual({ path: out, bytes: again.TEXT.length, lines: 400 });
      expect(again.asked).toEqual(['bytes=1000-']);
      expect(await readFile(out, 'utf8')).toBe(again.TEXT);
      expect(await readdir(dir)).toEqual(['results.ndjson']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps them when the caller aborts too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-kept-'));
    try {
      const out = join(dir, 'results.ndjson');
      const stop = new AbortController();
      const f = resultsFetch({ cutAt: [1000], etag: '"t"' });
      const stalled = (async (input: string | URL | Request, init?: RequestInit) => {
        const res = await f.impl(input, init);
        // 1,000 bytes, then the caller stops the download while the rest is awaited
        const reader = res.body!.getReader();
        const head = await reader.read();
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(head.value!);
            setTimeout(() => stop.abort(new Error('stopped by the user')), 50);
            init?.signal?.addEventListener('abort', () => c.error(init.signal!.reason));
          },
        });
        return new Response(body, { status: res.status, headers: res.headers });
      }) as typeof fetch;
      const err = await new MaasClient({ baseUrl: 'http://maas.test', fetch: stalled }).batches.downloadResults('b1', out, { signal: stop.signal }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('stopped by the user');
      expect((await stat(`${out}.partial`)).size).toBe(1000);
      const again = resultsFetch({ etag: '"t"' });
      await download(again, out);
      expect(again.asked).toEqual(['bytes=1000-']);
      expect(await readFile(out, 'utf8')).toBe(again.TEXT);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts over when the results are not those any more, or the note names another download', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-kept-'));
    try {
      const out = join(dir, 'results.ndjson');
      await expect(download(cutOff(), out)).rejects.toBeInstanceOf(MaasConnectionError);
      const changed = resultsFetch({ etag: '"u"' });
      await download(changed, out);
      expect(changed.asked).toEqual(['bytes=1000-', null]); // the part tagged "u" is refused, the whole asked for
      expect(await readFile(out, 'utf8')).toBe(changed.TEXT);

      await expect(download(cutOff(), out)).rejects.toBeInstanceOf(MaasConnectionError);
      const other = resultsFetch({ etag: '"t"' });
      await new MaasClient({ baseUrl: 'http://maas.test', fetch: other.impl }).batches.downloadResults('b1', out, { failedOnly: true });
      expect(other.asked).toEqual([null]); // kept bytes of all the results are no start of the failed lines'
      expect(await readdir(dir)).toEqual(['results.ndjson']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts over when more was kept than the results hold (a 416 of another length), never stuck on it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-kept-'));
    try {
      const out = join(dir, 'results.ndjson');
      const f = resultsFetch({ etag: '"t"' });
      const longer = f.TEXT.length + 10;
      await writeFile(`${out}.partial`, Buffer.alloc(longer, 0x41));
      await writeFile(`${out}.partial.json`, JSON.stringify({ batch: 'b1', format: 'ndjson', failedOnly: false, output: '', etag: '"t"' }));
      expect(await download(f, out)).toEqual({ path: out, bytes: f.TEXT.length, lines: 400 });
      expect(f.asked).toEqual([`bytes=${longer}-`, null]);
      expect(await readFile(out, 'utf8')).toBe(f.TEXT);
      expect(await readdir(dir)).toEqual(['results.ndjson']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves a kept partial as it was when nothing could be opened (the API down)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-kept-'));
    try {
      const out = join(dir, 'results.ndjson');
      await expect(download(cutOff(), out)).rejects.toBeInstanceOf(MaasConnectionError);
      const refused = (async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      }) as typeof fetch;
      await expect(new MaasClient({ baseUrl: 'http://maas.test', fetch: refused, retry: false }).batches.downloadResults('b1', out)).rejects.toBeInstanceOf(MaasConnectionError);
      expect((await stat(`${out}.partial`)).size).toBe(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
