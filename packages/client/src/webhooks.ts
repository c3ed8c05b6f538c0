/**
 * Receiving webhooks: Standard Webhooks verification (https://www.standardwebhooks.com/) with
 * node:crypto only.
 *
 * The cluster signs `"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256, keyed with
 * the bytes of the base64 after `whsec_`, and sends `webhook-signature: v1,<base64>` (several
 * space-separated signatures while a secret is rotated). A receiver must check the signature
 * over the EXACT bytes received — re-serialising parsed JSON changes them — and reject stale or
 * future timestamps, which is what stops a captured delivery from being replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
import { DEFAULT_TOLERANCE_SECONDS, type WebhookEvent } from './types.js';
import { parseJson } from './json.js';

const PREFIX = 'whsec_';
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export { DEFAULT_TOLERANCE_SECONDS };

/** `Headers`, or Node's `req.headers` (lower-case keys, possibly arrays). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** accepted clock difference, seconds; default 300 */
  toleranceSeconds?: number;
  /** the receiver's clock (ms since the epoch, or a Date); default now. For tests. */
  now?: number | Date;
}

/**
 * Verifies a delivery and returns its parsed event; throws `WebhookVerificationError` (with a
 * `reason`) when it is not authentic or not fresh. `secret`: one `whsec_…` secret, or several
 * (an array, or one string of them separated by spaces or commas, as the cluster's
 * WEBHOOK_SECRET is written while it is rotated): a delivery signed with any of them passes.
 * Pass the raw request body (a string or bytes; a parsed object is refused as `invalid-body`):
 *
 *   app.post('/hooks', express.raw({ type: 'application/json' }), (req, res) => {
 *     const event = verifyWebhook(process.env.MAAS_WEBHOOK_SECRET!, req.body, req.headers);
 *     ...
 *   });
 */
export function verifyWebhook<T = WebhookEvent>(
  secret: string | readonly string[],
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  opts: VerifyWebhookOptions = {},
): T {
  const keys = secretsOf(secret).map(secretKey);
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    // express.json() (or any parser) ran first: the bytes that were signed are gone.
    throw new WebhookVerificationError('invalid-body', 'the body must be the raw bytes received (a string or Buffer: express.raw(), not express.json()); a parsed body cannot be checked against its signature');
  }
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signatures && 'webhook-signature'].filter(Boolean);
    throw new WebhookVerificationError('missing-header', `missing header ${missing.join(', ')}`);
  }

  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('invalid-timestamp', 'webhook-timestamp is not unix seconds');
  const sentAt = Number(timestamp);
  const now = Math.floor((opts.now === undefined ? Date.now() : +opts.now) / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - sentAt > tolerance) throw new WebhookVerificationError('timestamp-too-old', `webhook-timestamp is ${now - sentAt} s old`);
  if (sentAt - now > tolerance) throw new WebhookVerificationError('timestamp-too-new', `webhook-timestamp is ${sentAt - now} s in the future`);

  const expected = keys.map((key) => hmac(key, id, timestamp, rawBody));
  // Space-separated; fetch's Headers joins a repeated header with ", ", hence the trailing comma.
  const matched = signatures.split(' ').map((e) => e.replace(/,$/, '')).some((entry) => {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') return false; // other schemes (v1a: asymmetric) are not ours
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    // timingSafeEqual needs equal lengths; a length mismatch reveals nothing about the key.
    return expected.some((e) => given.length === e.length && timingSafeEqual(given, e));
  });
  if (!matched) throw new WebhookVerificationError('no-matching-signature', 'no webhook-signature matches the body');

  try {
    return parseJson(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('invalid-body', 'the body is signed but is not JSON');
  }
}

/**
 * The `webhook-signature` value for a body: `v1,<base64>`. For testing your receiver with
 * deliveries of your own making.
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, rawBody: string | Uint8Array): string {
  return `v1,${hmac(secretKey(secret), id, String(timestampSeconds), rawBody).toString('base64')}`;
}

function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** The secrets in `secret`: an array's, or a string's separated by spaces or commas (at least one). */
function secretsOf(secret: string | readonly string[]): string[] {
  const all = (typeof secret === 'string' ? [secret] : [...secret]).flatMap((s) => String(s).split(/[\s,]+/)).filter(Boolean);
  if (all.length === 0) throw new WebhookVerificationError('invalid-secret', `no secret given: pass "${PREFIX}…", or several`);
  return all;
}

/** `whsec_<base64>` → key bytes. The prefix is optional, as in the reference libraries. */
function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  // Buffer.from(…, 'base64') skips characters it does not know: check, or a typo'd secret
  // would quietly become another key and every delivery would "fail" for no visible reason.
  if (!b64 || !STANDARD_BASE64.test(b64)) throw new WebhookVerificationError('invalid-secret', `the secret must be "${PREFIX}" followed by base64`);
  return Buffer.from(b64, 'base64');
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  // A repeated header: Node gives an array.
  return Array.isArray(value) ? value.join(' ') : value;
}
