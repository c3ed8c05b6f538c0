/** TenantSecrets on a real redis-server: first use, races, the legacy secret, rotation, configured secrets. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { WEBHOOK_SECRET_KEY } from '../src/queues.js';
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
