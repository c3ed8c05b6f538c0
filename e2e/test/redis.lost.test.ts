/**
 * Losing Redis (README "Losing or restoring Redis"): a redis-server without persistence
 * restarts empty while the API and the worker stay up. Each process notices (the data epoch:
 * an error logged once, `maas_redis_data_resets_total`), and every tenant keeps its webhook
 * secret, written back from the memory of a process that had read it: `GET
 * /v1/webhooks/secret` answers the same secret, and deliveries after the restart verify with
 * it (`standardwebhooks`, a real HTTP receiver). Before, each tenant got a new secret in
 * silence and every receiver refused every delivery from then on.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, rows, WebhookReceiver, type Received } from '../src/harness/index.js';

const KEYS = { alpha: 'key-alpha', beta: 'key-beta' };

let cluster: Cluster;
let recv: WebhookReceiver;

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 1,
    api: { API_KEYS: `alpha:${KEYS.alpha},beta:${KEYS.beta}`, WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '1s' },
  });
  recv = await WebhookReceiver.start();
});
afterAll(async () => {
  await recv?.close();
  await cluster?.stop();
});

const api = (key: string, method: string, path: string, body?: unknown) => call(cluster.url, method, path, body, { authorization: `Bearer ${key}` });

/** Runs one job for `key` with a webhook (once Redis answers); resolves with its job.completed delivery. */
async function delivery(key: string, seed: number): Promise<Received> {
  const job = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }], webhook: recv.url, webhook_events_filter: ['completed'] };
  const c = await eventually(() => api(key, 'POST', '/v1/jobs', job), (r) => r.status === 202, { ms: 15_000, every: 200, what: 'a 202' });
  const mine = (x: Received) => JSON.parse(x.body).data.id === c.body.id;
  await recv.until((all) => all.some(mine), 20_000, `the webhook of ${c.body.id}`);
  return recv.received.find(mine)!;
}

const verifies = (secret: string, r: Received) => {
  try {
    new Webhook(secret).verify(r.body, r.headers);
    return true;
  } catch {
    return false;
  }
};

describe('Redis restarted empty under a running API and worker', () => {
  it('keeps every tenant its webhook secret, says so in the log and counts it in /metrics', async () => {
    const alpha = (await api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.secret as string;
    const beta = (await api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body.secret as string; // only the API has read it
    expect(verifies(alpha, await delivery(KEYS.alpha, 1))).toBe(true);
    expect((await api(KEYS.alpha, 'GET', '/metrics')).body).toMatch(/^maas_redis_data_resets_total 0$/m);

    await cluster.redis.kill();
    await cluster.redis.restart(); // no persistence: empty
    await cluster.api.waitFor(/Redis came back empty/, 20_000);
    await cluster.workers[0]!.waitFor(/Redis came back empty/, 20_000);

    const after = await eventually(() => api(KEYS.alpha, 'GET', '/v1/webhooks/secret'), (r) => r.status === 200, { ms: 10_000, every: 200, what: 'the secret' });
    expect(after.body.secret).toBe(alpha);
    expect((await api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body.secret).toBe(beta);
    expect(verifies(alpha, await delivery(KEYS.alpha, 2))).toBe(true);
    expect(verifies(beta, await delivery(KEYS.beta, 3))).toBe(true);

    expect(cluster.api.log).toMatch(/written back from this process's memory/);
    expect(cluster.api.log.match(/Redis came back empty/g)).toHaveLength(1); // once per change
    expect(cluster.api.log).not.toContain(alpha.slice('whsec_'.length, 20)); // values are never logged
    const scrape = (await api(KEYS.alpha, 'GET', '/metrics')).body as string;
    expect(scrape).toMatch(/^maas_redis_data_resets_total 1$/m);
    await eventually(async () => (await api(KEYS.alpha, 'GET', '/metrics')).body as string, (b) => /^maas_redis_data_resets_total\{[^}]*worker="wrk_test1"[^}]*\} 1$/m.test(b), { ms: 10_000, every: 300, what: "the worker's count in /metrics" });
  });
});
