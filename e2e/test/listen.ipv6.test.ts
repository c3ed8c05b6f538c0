/**
 * HOST set to an IPv6 address (an IPv6-only Kubernetes cluster's pods have no IPv4 address):
 * `::` (or `[::]`) serves HTTP and gRPC on both protocols. Before, the gRPC target was written
 * without brackets (`:::8081`) and the API died at start-up. Real redis-server, API and worker.
 * Skipped where this host cannot bind IPv6's loopback.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, InferenceClient } from '../src/harness/index.js';

const ipv6 = await new Promise<boolean>((resolve) => {
  const s = createServer().once('error', () => resolve(false)).listen(0, '::1', () => s.close(() => resolve(true)));
});

describe.skipIf(!ipv6)('HOST as an IPv6 address', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 1, api: { HOST: '[::]' } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves HTTP and gRPC over IPv6 and IPv4 alike, and logs its addresses in brackets', async () => {
    const port = new URL(cluster.url).port;
    const grpcPort = cluster.grpcAddress.split(':').pop();
    for (const host of ['[::1]', '127.0.0.1']) {
      const ready = await call(`http://${host}:${port}`, 'GET', '/v2/health/ready');
      expect(ready.status, host).toBe(200);
      const infer = await call(`http://${host}:${port}`, 'POST', '/v2/models/penguins/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }] });
      expect(infer.status, JSON.stringify(infer.body)).toBe(200);
      const client = new InferenceClient(`${host}:${grpcPort}`);
      try {
        expect(await client.call('ServerReady', {})).toEqual({ ready: true });
      } finally {
        client.close();
      }
    }
    expect(cluster.api.log).toContain(`"url":"http://[::]:${port}"`);
  });
});
