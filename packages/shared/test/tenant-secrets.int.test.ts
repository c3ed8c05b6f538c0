/** TenantSecrets on a real redis-server: first use, races, the legacy secret, rotation, configured secrets, a Redis that lost them. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { tenantSecretsKey, WEBHOOK_SECRET_KEY } from '../src/queues.js';
import { startRedisServer, type RedisServer } from '../src/redis-server.js';
import { MAX_PREVIOUS_SECRETS } from '../src/webhooks/secret-ring.js';
import { generateSecret, parseSecret } from '../src/webhooks/sign.js';
import { TenantSecrets } from '../src/webhooks/tenant-secrets.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('TenantSecrets', () => {
  it('generates one secret per tenant on first use, the same for every process racing there', async () => {
    const processes = Array.from({ length: 5 }, () => new TenantSecrets(redis));
    const rings = await Promise.all(processes.map((p) => p.ring('acme')));
    expect(new Set(rings.map((r) => r.current.secret)).size).toBe(1);
    expect(rings[0]!.source).toBe('redis');
    const other = await processes[0]!.ring('beta');
    expect(other.current.secret).not.toBe(rings[0]!.current.secret);
    expect(await processes[1]!.keys('acme')).toEqual([parseSecret(rings[0]!.current.secret)]);
  });

  it("adopts the cluster's legacy secret for the default tenant, so an upgrade changes nothing there", async () => {
    const legacy = generateSecret();
    await redis.set(WEBHOOK_SECRET_KEY, legacy);
    expect((await new TenantSecrets(redis).ring('default')).current.secret).toBe(legacy);
    expect((await new TenantSecrets(redis).ring('gamma')).current.secret).not.toBe(legacy);
  });

  it('rotates: old secrets keep signing until their overlap ends, each its own', async () => {
    const s = new TenantSecrets(redis, { overlapMs: 1000 });
    const t0 = Date.now();
    const first = (await s.ring('delta', t0)).current.secret;
    const second = (await s.rotate('delta', t0)).current.secret;
    const r = await s.rotate('delta', t0 + 500);
    expect(r.previous.map((p) => p.secret)).toEqual([second, first]);
    expect((await s.keys('delta')).length).toBeLessThanOrEqual(3);
    const later = await s.ring('delta', t0 + 1200); // first expired at t0+1000, second lives to t0+1500
    expect(later.previous.map((p) => p.secret)).toEqual([second]);
    expect(Object.keys(await redis.hgetall('maas:webhook-secrets:delta')).filter((k) => k.startsWith('prev:'))).toHaveLength(1);
  });

  it(`keeps at most ${MAX_PREVIOUS_SECRETS} replaced secrets signing: rotating again and again drops those that expire first`, async () => {
    const s = new TenantSecrets(redis, { overlapMs: 60_000 });
    const t0 = Date.now();
    const made = [(await s.ring('epsilon', t0)).current.secret];
    for (let i = 1; i <= 30; i++) made.push((await s.rotate('epsilon', t0 + i)).current.secret);
    const ring = await s.ring('epsilon', t0 + 31);
    expect(ring.current.secret).toBe(made[30]);
    expect(ring.previous.map((p) => p.secret)).toEqual([made[29], made[28], made[27]]);
    expect(await s.keys('epsilon')).toHaveLength(1 + MAX_PREVIOUS_SECRETS);
    expect(Object.keys(await redis.hgetall('maas:webhook-secrets:epsilon')).filter((k) => k.startsWith('prev:'))).toHaveLength(MAX_PREVIOUS_SECRETS);
  });

  it('answers each of concurrent rotations with the secret it made: all different, each current as that rotation left the ring', async () => {
    const s = new TenantSecrets(redis, { overlapMs: 60_000 });
    await s.ring('zeta');
    const answers = await Promise.all(Array.from({ length: 3 }, () => s.rotate('zeta')));
    const made = answers.map((a) => a.current.secret);
    expect(new Set(made).size).toBe(3);
    const ring = await s.ring('zeta');
    expect([ring.current.secret, ...ring.previous.map((p) => p.secret)]).toEqual(expect.arrayContaining(made));
  });

  it('serves a configured secret as is, and refuses to rotate it', async () => {
    const configured = generateSecret();
    const s = new TenantSecrets(redis, { fixed: new Map([['default', [configured]]]) });
    expect(await s.ring('default')).toMatchObject({ current: { secret: configured }, previous: [], source: 'config' });
    await expect(s.rotate('default')).rejects.toBeInstanceOf(AppError);
    await expect(s.rotate('default')).rejects.toMatchObject({ status: 409 });
  });

  it('configured secrets rotate there: the first is current, every other one signs beside it, without expiry', async () => {
    const [next, old] = [generateSecret(), generateSecret()];
    const s = new TenantSecrets(redis, { fixed: new Map([['default', [next, old]]]) });
    expect(await s.ring('default')).toMatchObject({ current: { secret: next }, previous: [{ secret: old, expires_at: Number.POSITIVE_INFINITY }], source: 'config' });
    expect((await s.keys('default')).map((k) => k.toString('base64'))).toEqual([next, old].map((x) => x.slice('whsec_'.length)));
  });

});

describe('TenantSecrets after Redis lost them', () => {
  /** A TenantSecrets whose error lines are kept (message and fields). */
  function watched(overlapMs = 60_000) {
    const errors: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = createLogger('test', 'silent');
    log.error = ((obj: Record<string, unknown>, msg: string) => void errors.push({ obj, msg })) as typeof log.error;
    return { s: new TenantSecrets(redis, { overlapMs, log }), errors };
  }

  it('writes back the ring it knows when Redis came back empty: the same secrets, the first writer for every process racing there', async () => {
    const t0 = Date.now();
    const a = watched();
    const b = watched();
    await a.s.ring('eta', t0);
    await a.s.rotate('eta', t0 + 1);
    const before = await a.s.ring('eta', t0 + 2);
    await b.s.ring('eta', t0 + 2);
    await redis.flushall();
    const fresh = new TenantSecrets(redis); // knows nothing: must not race a new secret in first
    const after = await Promise.all([a.s.ring('eta', t0 + 3), b.s.ring('eta', t0 + 3)]);
    expect(after.map((r) => r.current)).toEqual([before.current, before.current]);
    expect(after[0]!.previous).toEqual(before.previous);
    expect((await fresh.ring('eta', t0 + 4)).current.secret).toBe(before.current.secret);
    const logged = [...a.errors, ...b.errors];
    expect(logged).toHaveLength(1); // the one that wrote
    expect(logged[0]!.msg).toMatch(/missing from Redis.*written back from this process's memory/);
    expect(logged[0]!.obj).toMatchObject({ tenant: 'eta' });
    expect(JSON.stringify(logged)).not.toContain(before.current.secret.slice(6, 20));
  });

  it('never puts a remembered ring over one Redis holds: a rotation elsewhere stays, after its overlap too, and a restore that undid one is left as it is', async () => {
    const t0 = Date.now();
    const stale = watched(1000);
    const api = watched(1000);
    const s0 = (await stale.s.ring('theta', t0)).current.secret; // remembers S0
    const s1 = (await api.s.rotate('theta', t0 + 10)).current.secret;
    // The overlap passes, and a third reader drops S0's previous field.
    await new TenantSecrets(redis, { overlapMs: 1000 }).ring('theta', t0 + 5000);
    expect((await redis.hkeys(tenantSecretsKey('theta'))).some((f) => f.includes(s0))).toBe(false);
    expect((await stale.s.ring('theta', t0 + 5001)).current.secret).toBe(s1);
    // A rotation stamped before S1 by a clock a little behind is not taken for an older one either.
    const s2 = (await api.s.rotate('theta', t0 + 5)).current.secret;
    expect((await stale.s.ring('theta', t0 + 9000)).current.secret).toBe(s2);
    // A restore from before the rotation: Redis holds S0 again, and the API's memory of S2 does not replace it.
    await redis.del(tenantSecretsKey('theta'));
    await redis.hset(tenantSecretsKey('theta'), { current: s0, current_at: String(t0) });
    expect((await api.s.ring('theta', t0 + 9001)).current.secret).toBe(s0);
    expect([...stale.errors, ...api.errors]).toEqual([]);
  });

  it('writes a ring back over a hash left without its current secret (a partial restore, a hand edit)', async () => {
    const t0 = Date.now();
    const { s } = watched();
    const known = await s.ring('iota', t0);
    await redis.hdel(tenantSecretsKey('iota'), 'current', 'current_at');
    await redis.hset(tenantSecretsKey('iota'), 'prev:whsec_x', String(t0 + 60_000));
    expect((await s.ring('iota', t0 + 1)).current.secret).toBe(known.current.secret);
  });
});
