import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { Stop } from '../services/stop-signal.js';
import { closeConnectionsOnStop } from './closing.js';

/** GET `path` on one keep-alive agent-less socket; its Connection header and whether the socket was closed after. */
function get(port: number, path: string): Promise<{ connection: string | undefined; body: string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, path, headers: { connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ connection: res.headers.connection, body, closed: new Promise((r) => req.socket!.once('close', () => r())) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('closeConnectionsOnStop', () => {
  it('answers keep-alive until the stop; after it, every answer (one in flight at the stop too) says Connection: close and its socket closes', async () => {
    const stop = new Stop();
    const app = express();
    closeConnectionsOnStop(app, stop);
    let release: () => void = () => {};
    app.get('/now', (_req, res) => void res.send('now'));
    app.get('/json', (_req, res) => void res.json({ ok: true }));
    app.get('/held', (_req, res) => void (release = () => res.end('held'))); // a long-poll: answered after the stop
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      expect((await get(port, '/now')).connection).toBe('keep-alive');
      const held = get(port, '/held');
      await new Promise((r) => setTimeout(r, 50));
      stop.stop();
      release();
      const h = await held;
      expect([h.connection, h.body]).toEqual(['close', 'held']);
      await h.closed;
      for (const path of ['/now', '/json']) {
        const after = await get(port, path);
        expect(after.connection).toBe('close');
        await after.closed;
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
