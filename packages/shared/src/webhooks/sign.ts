/**
 * PURE: Standard Webhooks signatures (https://www.standardwebhooks.com/), with node:crypto.
 *
 * A delivery carries `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`. The key is the
 * base64 part of a `whsec_…` secret. Signing must cover the exact bytes sent, so callers
 * serialise the body once and pass that string (or Buffer) both here and to the socket.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { clusterNow } from '../cluster-clock.js';

export const SECRET_PREFIX = 'whsec_';
/** The spec asks for keys of 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** Receivers reject timestamps further than this from their clock (replay protection). */
export const DEFAULT_TOLERANCE_S = 5 * 60;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `secret` is not a usable `whsec_` secret, or null. */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return `must start with "${SECRET_PREFIX}"`;
  const b64 = secret.slice(SECRET_PREFIX.length);
  // Standard base64 only: the reference libraries reject base64url.
  if (!b64 || !BASE64.test(b64)) return `must be "${SECRET_PREFIX}" followed by standard base64`;
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) return `key must be ${MIN_KEY_BYTES}–${MAX_KEY_BYTES} bytes (is ${bytes})`;
  return null;
}

/** `whsec_…` → the HMAC key bytes. Throws on a malformed secret (the message never contains it). */
export function parseSecret(secret: string): Buffer {
  const problem = secretProblem(secret);
  if (problem) throw new Error(`invalid webhook secret: ${problem}`);
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** A fresh secret: 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function digest(key: Buffer, msgId: string, timestamp: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${msgId}.${timestamp}.`).update(body).digest();
}

/** `v1,<base64 signature>` of one message. `timestamp` is in unix seconds. */
export function sign(key: Buffer, msgId: string, timestamp: number, body: string | Buffer): string {
  return `v1,${digest(key, msgId, timestamp, body).toString('base64')}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The three Standard Webhooks headers for one attempt (a fresh timestamp each attempt). With
 * several keys (a secret being rotated) the signature header holds one space-separated `v1,`
 * signature per key, so a receiver holding any of them verifies.
 */
export function signedHeaders(key: Buffer | readonly Buffer[], msgId: string, body: string | Buffer, nowMs = clusterNow()): SignedHeaders {
  const ts = Math.floor(nowMs / 1000);
  const keys = Buffer.isBuffer(key) ? [key] : key;
  if (keys.length === 0) throw new Error('no key to sign with');
  return { 'webhook-id': msgId, 'webhook-timestamp': String(ts), 'webhook-signature': keys.map((k) => sign(k, msgId, ts, body)).join(' ') };
}

export interface VerifyOptions {
  nowMs?: number;
  toleranceS?: number;
}

/**
 * Receiver side, as the spec describes it: true when the timestamp is within tolerance and one
 * of the space-separated `v1,` signatures matches (several appear while a key is rotated).
 * Comparison is constant-time.
 */
export function verify(key: Buffer, headers: SignedHeaders, body: string | Buffer, opts: VerifyOptions = {}): boolean {
  const ts = Number(headers['webhook-timestamp']);
  if (!/^[0-9]+$/.test(headers['webhook-timestamp']) || !Number.isSafeInteger(ts)) return false;
  const now = Math.floor((opts.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (opts.toleranceS ?? DEFAULT_TOLERANCE_S)) return false;
  const expected = digest(key, headers['webhook-id'], ts, body);
  return headers['webhook-signature'].split(' ').some((entry) => {
    const [version, b64] = entry.split(',', 2);
    if (version !== 'v1' || !b64) return false;
    const given = Buffer.from(b64, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
