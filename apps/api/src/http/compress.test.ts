import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pipeChunks } from './pipe-chunks.js';
import { compressAnswers, compressible } from './compress.js';

describe('compressible', () => {
  it('takes JSON, problem+json, NDJSON, text and HTML', () => {
    for (const t of ['application/json; charset=utf-8', 'application/problem+json', 'application/x-ndjson', 'text/plain; version=0.0.4; charset=utf-8', 'text/html; charset=utf-8', 'text/csv', 'Application/JSON']) {
      expect(compressible(t, false)).toBe(true);
    }
  });
  it('takes octet-stream only as a binary-extension infer answer', () => {
    expect(compressible('application/octet-stream', true)).toBe(true);
    expect(compressible('application/octet-stream', false)).toBe(false);
  });
  it('leaves .npy, images and untyped answers alone', () => {
    for (const t of ['application/x-npy', 'image/png', 'application/grpc', undefined]) expect(compressible(t, false)).toBe(false);
  });
});

describe('a long answer piped through the encoder to a slow client', () => {
  it('backs off on the encoder and keeps one drain listener (none a piece), so no leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const compress = compressAnswers();
    let piped: Promise<boolean> | undefined;
    const server = createServer((req, res) => {
      compress(req as never, res as never, () => {
        res.setHeader('Content-Type', 'application/x-ndjson');
        // 400 pieces of 16 KB of numbers that compress about 2× (random digits)
        piped = pipeChunks(res, (async function* () {
          for (let i = 0; i < 400; i++) yield Array.from({ length: 1000 }, () => `${Math.random()}`.slice(0, 15)).join(',') + '\n';
        })()).then((ok) => {
          if (ok) res.end();
          return ok;
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<Buffer>((resolve, reject) => {
        request({ port, host: '127.0.0.1', path: '/', headers: { 'accept-encoding': 'gzip' } }, (res) => {
          expect(res.headers['content-encoding']).toBe('gzip');
          const chunks: Buffer[] = [];
          res.once('data', () => {
            res.pause(); // the socket fills, the encoder's output waits, its input asks for 'drain'
            setTimeout(() => res.resume(), 300);
          });
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(gunzipSync(Buffer.concat(chunks))));
          res.on('error', reject);
        }).on('error', reject).end();
      });
      expect(await piped).toBe(true);
      expect(body.toString().split('\n')).toHaveLength(401);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      server.close();
    }
  });
});
