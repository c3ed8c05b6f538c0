import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError } from './errors.js';
import { signWebhook, verifyWebhook } from './webhooks.js';

// The Standard Webhooks specification's published example.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT_TS = TS * 1000;

const headers = (over: Record<string, string> = {}) => ({
  'webhook-id': ID,
  'webhook-timestamp': String(TS),
  'webhook-signature': SIGNATURE,
  ...over,
});

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).reason;
  }
  throw new Error('expected a WebhookVerificationError');
}

describe('verifyWebhook: the specification vector', () => {
  it('signs the vector to the published signature', () => {
    expect(signWebhook(SECRET, ID, TS, BODY)).toBe(SIGNATURE);
  });

  it('accepts it (fixed clock) and returns the parsed body', () => {
    expect(verifyWebhook(SECRET, BODY, headers(), { now: AT_TS })).toEqual({ test: 2432232314 });
    expect(verifyWebhook(SECRET, Buffer.from(BODY), headers(), { now: new Date(AT_TS + 299_000) })).toEqual({ test: 2432232314 });
  });

  it('rejects a tampered body, id or timestamp', () => {
    expect(reason(() => verifyWebhook(SECRET, '{"test": 2432232315}', headers(), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook(SECRET, `${BODY} `, headers(), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-id': 'msg_other' }), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-timestamp': String(TS + 1) }), { now: AT_TS }))).toBe('no-matching-signature');
  });

  it('rejects another secret', () => {
    const other = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    expect(reason(() => verifyWebhook(other, BODY, headers(), { now: AT_TS }))).toBe('no-matching-signature');
  });

  it('rejects timestamps more than 5 minutes old or ahead', () => {
    expect(reason(() => verifyWebhook(SECRET, BODY, headers(), { now: AT_TS + 301_000 }))).toBe('timestamp-too-old');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers(), { now: AT_TS - 301_000 }))).toBe('timestamp-too-new');
    expect(verifyWebhook(SECRET, BODY, headers(), { now: AT_TS - 300_000 })).toBeTruthy();
    expect(reason(() => verifyWebhook(SECRET, BODY, headers(), { now: AT_TS + 11_000, toleranceSeconds: 10 }))).toBe('timestamp-too-old');
    // Without a clock override, the vector (from 2021) is long stale.
    expect(reason(() => verifyWebhook(SECRET, BODY, headers()))).toBe('timestamp-too-old');
  });

  it('accepts when any of several signatures matches (key rotation), and only v1', () => {
    const wrong = 'v1,' + Buffer.alloc(32).toString('base64');
    expect(verifyWebhook(SECRET, BODY, headers({ 'webhook-signature': `${wrong} ${SIGNATURE}` }), { now: AT_TS })).toBeTruthy();
    expect(verifyWebhook(SECRET, BODY, headers({ 'webhook-signature': `v1a,abc ${SIGNATURE} ${wrong}` }), { now: AT_TS })).toBeTruthy();
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-signature': `${wrong} v2,${SIGNATURE.slice(3)}` }), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-signature': 'v1,' }), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-signature': SIGNATURE.slice(0, -4) }), { now: AT_TS }))).toBe('no-matching-signature');
  });

  it('reads fetch Headers and Node header records (any case, repeated headers)', () => {
    const h = new Headers(headers());
    expect(verifyWebhook(SECRET, BODY, h, { now: AT_TS })).toBeTruthy();
    const repeated = new Headers({ 'webhook-id': ID, 'webhook-timestamp': String(TS) });
    repeated.append('webhook-signature', 'v1,AAAA');
    repeated.append('webhook-signature', SIGNATURE);
    expect(verifyWebhook(SECRET, BODY, repeated, { now: AT_TS })).toBeTruthy();
    const node: Record<string, string | string[]> = { 'Webhook-Id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': ['v1,AAAA', SIGNATURE] };
    expect(verifyWebhook(SECRET, BODY, node, { now: AT_TS })).toBeTruthy();
  });

  it('names what is missing or malformed', () => {
    const { 'webhook-signature': _, ...noSig } = headers();
    expect(reason(() => verifyWebhook(SECRET, BODY, noSig, { now: AT_TS }))).toBe('missing-header');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-timestamp': '1614265330.5' }), { now: AT_TS }))).toBe('invalid-timestamp');
    expect(reason(() => verifyWebhook(SECRET, BODY, headers({ 'webhook-timestamp': '-5' }), { now: AT_TS }))).toBe('invalid-timestamp');
    expect(reason(() => verifyWebhook('whsec_not base64!', BODY, headers(), { now: AT_TS }))).toBe('invalid-secret');
    expect(reason(() => verifyWebhook('whsec_', BODY, headers(), { now: AT_TS }))).toBe('invalid-secret');
    const notJson = 'not json';
    const sig = signWebhook(SECRET, ID, TS, notJson);
    expect(reason(() => verifyWebhook(SECRET, notJson, headers({ 'webhook-signature': sig }), { now: AT_TS }))).toBe('invalid-body');
  });

  it("takes several secrets, as the cluster's WEBHOOK_SECRET is written while rotating: any one signing passes", () => {
    const other = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    expect(verifyWebhook(`${other} ${SECRET}`, BODY, headers(), { now: AT_TS })).toBeTruthy();
    expect(verifyWebhook(`${SECRET},${other}`, BODY, headers(), { now: AT_TS })).toBeTruthy();
    expect(verifyWebhook([other, SECRET], BODY, headers(), { now: AT_TS })).toBeTruthy();
    expect(reason(() => verifyWebhook([other], BODY, headers(), { now: AT_TS }))).toBe('no-matching-signature');
    expect(reason(() => verifyWebhook([], BODY, headers(), { now: AT_TS }))).toBe('invalid-secret');
    expect(reason(() => verifyWebhook(` ${SECRET} whsec_bad! `, BODY, headers(), { now: AT_TS }))).toBe('invalid-secret'); // each must be well-formed
  });

  it('refuses a parsed body (express.json() ran first) as invalid-body, saying to pass the raw one', () => {
    let message = '';
    expect(reason(() => {
      try {
        verifyWebhook(SECRET, JSON.parse(BODY) as never, headers(), { now: AT_TS });
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    })).toBe('invalid-body');
    expect(message).toMatch(/raw bytes received.*express\.raw\(\)/);
  });

  it('accepts the secret without its whsec_ prefix, as the reference libraries do', () => {
    expect(verifyWebhook(SECRET.slice('whsec_'.length), BODY, headers(), { now: AT_TS })).toBeTruthy();
  });
});

describe('verifyWebhook agrees with the standardwebhooks reference library', () => {
  const secret = 'whsec_' + Buffer.from('a 32-byte key for cross checking').toString('base64');
  const body = JSON.stringify({ type: 'job.completed', timestamp: new Date().toISOString(), data: { id: 'job_1', object: 'job', status: 'succeeded', note: 'é ✓' } });
  const id = 'msg_cross';

  it('verifies what the reference signs', () => {
    const now = new Date();
    const ts = Math.floor(now.getTime() / 1000);
    const signature = new Webhook(secret).sign(id, now, body);
    expect(signature).toBe(signWebhook(secret, id, ts, body));
    const event = verifyWebhook(secret, body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature });
    expect(event.type).toBe('job.completed');
  });

  it('signs what the reference verifies, and both reject the same tampering', () => {
    const ts = Math.floor(Date.now() / 1000);
    const h = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secret, id, ts, body) };
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
    const tampered = body.replace('succeeded', 'failed');
    expect(() => new Webhook(secret).verify(tampered, h)).toThrow();
    expect(() => verifyWebhook(secret, tampered, h)).toThrow(WebhookVerificationError);
    const stale = { ...h, 'webhook-timestamp': String(ts - 400), 'webhook-signature': signWebhook(secret, id, ts - 400, body) };
    expect(() => new Webhook(secret).verify(body, stale)).toThrow();
    expect(() => verifyWebhook(secret, body, stale)).toThrow(WebhookVerificationError);
  });
});
