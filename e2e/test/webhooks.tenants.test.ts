/**
 * Per-tenant webhook secrets (issue 14, CONTRACT §5): each tenant's deliveries are signed with
 * its own secret, and rotation keeps the old secret verifying during the overlap, then not.
 * Real API and worker processes, a real HTTP receiver, and the `standardwebhooks` package as
 * the independent verifier (what a tenant's receiver would run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, TENANT_KEYS as KEYS, TenantWebhooks, verifies } from '../src/harness/index.js';

const OVERLAP_S = 6;

let tw: TenantWebhooks;

beforeAll(async () => {
  tw = await TenantWebhooks.start({ WEBHOOK_SECRET_OVERLAP: `${OVERLAP_S}s` });
});
afterAll(async () => {
  await tw?.stop();
});

describe('per-tenant webhook secrets', () => {
  it("gives each tenant its own secret, stable once generated, and never another tenant's", async () => {
    const a = await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret');
    const b = await tw.api(KEYS.beta, 'GET', '/v1/webhooks/secret');
    expect(a.status).toBe(200);
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.body).toMatchObject({ object: 'webhook_secret', source: 'generated', previous: [], overlap_seconds: OVERLAP_S });
    expect(a.body.secret).toMatch(/^whsec_/);
    expect(b.body.secret).not.toBe(a.body.secret);
    expect((await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.secret).toBe(a.body.secret);
    expect((await call(tw.cluster.url, 'GET', '/v1/webhooks/secret')).status).toBe(401);
  });

  it("signs each tenant's deliveries with its own secret: B's secret never verifies A's", async () => {
    const secretA = (await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.secret;
    const secretB = (await tw.api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body.secret;
    const fromA = await tw.delivery(KEYS.alpha, 1);
    const fromB = await tw.delivery(KEYS.beta, 2);
    expect(verifies(secretA, fromA)).toBe(true);
    expect(verifies(secretB, fromA)).toBe(false);
    expect(verifies(secretB, fromB)).toBe(true);
    expect(verifies(secretA, fromB)).toBe(false);
    expect(fromA.signature.split(' ')).toHaveLength(1);
  });

  it('rotation: old and new secrets both verify during the overlap, only the new one after', async () => {
    const old = (await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.secret;
    const rotated = await tw.api(KEYS.alpha, 'POST', '/v1/webhooks/secret/rotate');
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret;
    expect(fresh).not.toBe(old);
    expect(rotated.body.previous).toEqual([{ secret: old, expires_at: expect.any(String) }]);
    const until = Date.parse(rotated.body.previous[0].expires_at);
    expect(until - Date.now()).toBeLessThanOrEqual(OVERLAP_S * 1000);
    // beta is untouched by alpha's rotation
    const secretB = (await tw.api(KEYS.beta, 'GET', '/v1/webhooks/secret')).body;
    expect(secretB.previous).toEqual([]);

    const during = await tw.delivery(KEYS.alpha, 3);
    expect(during.signature.split(' ')).toHaveLength(2);
    expect(verifies(old, during)).toBe(true);
    expect(verifies(fresh, during)).toBe(true);
    expect(verifies(secretB.secret, during)).toBe(false);

    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 300));
    expect((await tw.api(KEYS.alpha, 'GET', '/v1/webhooks/secret')).body.previous).toEqual([]);
    const after = await tw.delivery(KEYS.alpha, 4);
    expect(after.signature.split(' ')).toHaveLength(1);
    expect(verifies(fresh, after)).toBe(true);
    expect(verifies(old, after)).toBe(false);
  });
});
