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

  it('puts a rotation a restore undid back: the newer secret current, the older one signing for the overlap', async () => {
    const t0 = Date.now();
    const { s, errors } = watched(60_000);
    const first = (await s.ring('theta', t0)).current.secret;
    const snapshot = await redis.hgetall(tenantSecretsKey('theta'));
    const second = (await s.rotate('theta', t0 + 1000)).current.secret;
    await redis.del(tenantSecretsKey('theta'));
    await redis.hset(tenantSecretsKey('theta'), snapshot); // restored from before the rotation
    const ring = await s.ring('theta', t0 + 2000);
    expect(ring.current.secret).toBe(second);
    expect(ring.previous).toEqual([{ secret: first, expires_at: t0 + 2000 + 60_000 }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/older webhook secret.*newer one is current again/);
    expect(errors[0]!.obj).toMatchObject({ tenant: 'theta' });
    // Another process's rotation since is newer: taken as is, nothing logged.
    const third = (await new TenantSecrets(redis, { overlapMs: 60_000 }).rotate('theta', t0 + 3000)).current.secret;
    expect((await s.ring('theta', t0 + 4000)).current.secret).toBe(third);
    expect(errors).toHaveLength(1);
  });

  it('puts the secret it knows back over one made anew after the loss by a process that did not know it', async () => {
    const t0 = Date.now();
    const { s, errors } = watched(60_000);
    const known = (await s.ring('kappa', t0)).current.secret;
    await redis.del(tenantSecretsKey('kappa')); // Redis lost it
    const remade = (await new TenantSecrets(redis).ring('kappa', t0 + 1000)).current.secret; // a worker that never delivered for it
    expect(remade).not.toBe(known);
    const ring = await s.ring('kappa', t0 + 2000);
    expect(ring.current.secret).toBe(known);
    expect(ring.previous).toEqual([{ secret: remade, expires_at: t0 + 2000 + 60_000 }]); // whoever got it meanwhile still verifies
    expect(errors.map((e) => e.msg)).toEqual([expect.stringMatching(/made anew after it lost the ring.*the one this process knows is current again/)]);
    // A rotation is not a secret made anew: it stays.
    const rotated = (await new TenantSecrets(redis).rotate('kappa', t0 + 3000)).current.secret;
    expect((await watched().s.ring('kappa', t0 + 3001)).current.secret).toBe(rotated);
    expect((await s.ring('kappa', t0 + 4000)).current.secret).toBe(rotated);
    expect(errors).toHaveLength(1);
  });

  it('takes a rotation stamped earlier than the secret it replaced (clocks a few ms apart) as it is', async () => {
    const t0 = Date.now();
    const { s, errors } = watched();
    const mine = (await s.ring('iota', t0 + 5)).current.secret;
    // Another process rotated just after, its clock 3 ms behind this one's: its secret reads older.
    const theirs = (await new TenantSecrets(redis).rotate('iota', t0 + 2)).current.secret;
    const ring = await s.ring('iota', t0 + 10);
    expect(ring.current.secret).toBe(theirs);
    expect(ring.previous.map((p) => p.secret)).toEqual([mine]);
    expect(errors).toEqual([]);
  });
});
