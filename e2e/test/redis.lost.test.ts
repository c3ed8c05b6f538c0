/**
 * Losing Redis (README "Losing or restoring Redis"): a redis-server without persistence
 * restarts empty while the API and the worker stay up. Each process notices (the data epoch:
 * an error logged once, `maas_redis_data_resets_total`), and every tenant keeps its webhook
 * secret, written back from the memory of a process that had read it: `GET
 * /v1/webhooks/secret` answers the same secret, and deliveries after the restart verify with
 * it (`standardwebhooks`, a real HTTP receiver). Before, each tenant got a new secret in
 * silence and every receiver refused every delivery from then on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, TENANT_KEYS as KEYS, TenantWebhooks, verifies } from '../src/harness/index.js';

let tw: TenantWebhooks;

beforeAll(async () => {
  tw = await TenantWebhooks.start();
});
afterAll(async () => {
  await tw?.stop();
});

describe('Redis restarted empty under a running API and worker', () => {
  it('keeps every tenant its webhook secret, says so in the log and counts it in /metrics', async () => {
    const alpha = (await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.secret as string;
    const beta = (await tw.api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body.secret as string; // only the API has read it
    expect(verifies(alpha, await tw.delivery(KEYS.alpha, 1))).toBe(true);
    expect((await tw.api(KEYS.alpha, 'GET', '/metrics')).body).toMatch(/^maas_redis_data_resets_total 0$/m);

    await tw.cluster.redis.kill();
    await tw.cluster.redis.restart(); // no persistence: empty
    await tw.cluster.api.waitFor(/Redis came back empty/, 20_000);
    await tw.cluster.workers[0]!.waitFor(/Redis came back empty/, 20_000);

    const after = await eventually(() => tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret'), (r) => r.status === 200, { ms: 10_000, every: 200, what: 'the secret' });
    expect(after.body.secret).toBe(alpha);
    expect((await tw.api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body.secret).toBe(beta);
    expect(verifies(alpha, await tw.delivery(KEYS.alpha, 2))).toBe(true);
    expect(verifies(beta, await tw.delivery(KEYS.beta, 3))).toBe(true);

    expect(tw.cluster.api.log).toMatch(/written back from this process's memory/);
    // The outage's end is in each log, with how long it lasted.
    expect(tw.cluster.api.log).toMatch(/Redis reachable again/);
    await tw.cluster.workers[0]!.waitFor(/Redis reachable again/, 10_000);
    expect(tw.cluster.api.log.match(/Redis came back empty/g)).toHaveLength(1); // once per change
    expect(tw.cluster.api.log).not.toContain(alpha.slice('whsec_'.length, 20)); // values are never logged
    const scrape = (await tw.api(KEYS.alpha, 'GET', '/metrics')).body as string;
    expect(scrape).toMatch(/^maas_redis_data_resets_total 1$/m);
    await eventually(async () => (await tw.api(KEYS.alpha, 'GET', '/metrics')).body as string, (b) => /^maas_redis_data_resets_total\{[^}]*worker="wrk_test1"[^}]*\} 1$/m.test(b), { ms: 10_000, every: 300, what: "the worker's count in /metrics" });
  });
});
