import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, parseSecret, secretProblem, sign, signedHeaders, verify } from './sign.js';

// The test vector published with the Standard Webhooks reference libraries (and Svix's).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('sign', () => {
  it('reproduces the published test vector', () => {
    expect(sign(parseSecret(VECTOR.secret), VECTOR.msgId, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(sign(parseSecret(VECTOR.secret), VECTOR.msgId, VECTOR.timestamp, Buffer.from(VECTOR.body))).toBe(VECTOR.signature);
  });

  it('matches the standardwebhooks package, which also verifies our headers', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'job.completed', data: { id: 'job_1', text: 'naïve ✓' } });
    const now = Date.now();
    const headers = signedHeaders(parseSecret(secret), 'msg_abc', body, now);
    const wh = new Webhook(secret);
    expect(headers['webhook-signature']).toBe(wh.sign('msg_abc', new Date(Math.floor(now / 1000) * 1000), body));
    expect(wh.verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('signs with a fresh timestamp each time, keeping the id', () => {
    const key = parseSecret(generateSecret());
    const a = signedHeaders(key, 'msg_x', '{}', 1_000_000_000_000);
    const b = signedHeaders(key, 'msg_x', '{}', 1_000_000_060_000);
    expect(a['webhook-id']).toBe(b['webhook-id']);
    expect(Number(b['webhook-timestamp']) - Number(a['webhook-timestamp'])).toBe(60);
    expect(a['webhook-signature']).not.toBe(b['webhook-signature']);
  });
});

describe('verify', () => {
  const key = parseSecret(VECTOR.secret);
  const headers = { 'webhook-id': VECTOR.msgId, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature };
  const at = VECTOR.timestamp * 1000;

  it('accepts the vector within ±5 minutes, refuses outside', () => {
    expect(verify(key, headers, VECTOR.body, { nowMs: at })).toBe(true);
    expect(verify(key, headers, VECTOR.body, { nowMs: at + 299_000 })).toBe(true);
    expect(verify(key, headers, VECTOR.body, { nowMs: at - 299_000 })).toBe(true);
    expect(verify(key, headers, VECTOR.body, { nowMs: at + 301_000 })).toBe(false);
    expect(verify(key, headers, VECTOR.body, { nowMs: at - 301_000 })).toBe(false);
  });

  it('refuses a changed body, id, timestamp or key', () => {
    expect(verify(key, headers, '{"test": 2432232315}', { nowMs: at })).toBe(false);
    expect(verify(key, { ...headers, 'webhook-id': 'msg_other' }, VECTOR.body, { nowMs: at })).toBe(false);
    expect(verify(key, { ...headers, 'webhook-timestamp': String(VECTOR.timestamp + 1) }, VECTOR.body, { nowMs: at })).toBe(false);
    expect(verify(key, { ...headers, 'webhook-timestamp': '1614265330.5' }, VECTOR.body, { nowMs: at })).toBe(false);
    expect(verify(parseSecret(generateSecret()), headers, VECTOR.body, { nowMs: at })).toBe(false);
  });

  it('accepts any one of several space-separated signatures, v1 only', () => {
    const several = { ...headers, 'webhook-signature': `v1,bm9wZQ== v2,${VECTOR.signature.slice(3)} ${VECTOR.signature}` };
    expect(verify(key, several, VECTOR.body, { nowMs: at })).toBe(true);
    const wrongVersion = { ...headers, 'webhook-signature': `v2,${VECTOR.signature.slice(3)}` };
    expect(verify(key, wrongVersion, VECTOR.body, { nowMs: at })).toBe(false);
    expect(verify(key, { ...headers, 'webhook-signature': 'garbage' }, VECTOR.body, { nowMs: at })).toBe(false);
  });
});

describe('secrets', () => {
  it('generates whsec_ secrets of 32 random bytes that standardwebhooks accepts', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseSecret(s)).toHaveLength(32);
    expect(generateSecret()).not.toBe(s);
    expect(() => new Webhook(s)).not.toThrow();
  });

  it('rejects malformed secrets without echoing them', () => {
    expect(secretProblem(VECTOR.secret)).toBeNull();
    expect(secretProblem('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toMatch(/whsec_/);
    expect(secretProblem('whsec_')).toMatch(/base64/);
    expect(secretProblem('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw')).toMatch(/base64/); // base64url
    expect(secretProblem('whsec_c2hvcnQ=')).toMatch(/24–64 bytes/);
    expect(() => parseSecret('whsec_not-a-secret!')).toThrow(/invalid webhook secret/);
    try {
      parseSecret('whsec_not-a-secret!');
    } catch (err) {
      expect((err as Error).message).not.toContain('not-a-secret');
    }
  });
});
