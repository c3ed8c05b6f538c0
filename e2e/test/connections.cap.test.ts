/**
 * MAX_CONNECTIONS: past that many open connections on a port (HTTP, gRPC: counted apart) the API
 * closes a new one as it opens (a client that opens thousands of idle connections cannot exhaust
 * the process), counts it in `maas_http_connections_dropped_total` or
 * `maas_grpc_connections_dropped_total`, and takes connections again once some have closed.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, InferenceClient } from '../src/harness/index.js';

let cluster: Cluster;
const sockets: Socket[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0, api: { MAX_CONNECTIONS: '3' } });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await cluster?.stop();
});

/** A raw TCP connection to `port`; resolves once it has been open for 1 s (or has closed) with whether it closed. */
function hold(port: number): Promise<{ socket: Socket; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let closed = false;
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    socket.resume(); // a close is seen only by a socket that reads
    setTimeout(() => resolve({ socket, closed }), 1000);
  });
}

/** A raw connection that asks for `/v2/health/live` and keeps the connection open; resolves with what came back before it closed or 1 s passed. */
function ask(port: number): Promise<{ socket: Socket; answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let answer = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    socket.on('connect', () => socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
    setTimeout(() => resolve({ socket, answer, closed }), 1000);
  });
}

describe('MAX_CONNECTIONS', () => {
  it('closes a connection past the cap unanswered, counts it, and takes new ones once others have closed', async () => {
    const port = Number(new URL(cluster.url).port);
    const held = await Promise.all([ask(port), ask(port), ask(port)]);
    for (const h of held) {
      expect(h.answer).toMatch(/^HTTP\/1\.1 200/);
      expect(h.closed).toBe(false); // kept alive: each still counts
    }
    const fourth = await ask(port);
    expect(fourth).toMatchObject({ answer: '', closed: true });
    held[0]!.socket.destroy();
    held[1]!.socket.destroy();
    const metrics = await eventually(() => call(cluster.url, 'GET', '/metrics'), (r) => r.status === 200, { what: 'a connection again' });
    expect(metrics.body).toMatch(/^maas_http_connections_dropped_total 1$/m);
  });

  it('bounds the gRPC port apart: a connection past the cap is closed at once, counted, and calls go on once one has closed', async () => {
    const port = Number(cluster.grpcAddress.split(':')[1]);
    // Each waits out the others: all three at once would race for the cap's last place.
    const held = [await hold(port), await hold(port), await hold(port)];
    expect(held.map((h) => h.closed)).toEqual([false, false, false]); // raw sockets, held until the preface deadline (30 s)
    expect((await hold(port)).closed).toBe(true);
    held[0]!.socket.destroy();
    const client = new InferenceClient(cluster.grpcAddress);
    try {
      const live = await eventually(() => client.call<{ live: boolean }>('ServerLive', {}, undefined, 2000).catch(() => ({ live: false })), (r) => r.live, { what: 'a gRPC call again' });
      expect(live.live).toBe(true);
    } finally {
      client.close();
    }
    const metrics = await call(cluster.url, 'GET', '/metrics');
    expect(metrics.body).toMatch(/^maas_grpc_connections_dropped_total 1$/m);
  });
});
