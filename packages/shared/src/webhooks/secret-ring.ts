/**
 * PURE: a tenant's webhook signing secrets as kept in Redis, and which of them sign now.
 *
 * A ring is the current secret plus the secrets it replaced, each until its overlap ends.
 * Rotation makes a new current secret and keeps the old one signing beside it until
 * `expires_at`, so a receiver can switch to the new secret whenever it likes within the
 * overlap (every delivery carries one `v1,` signature per live secret). Rotating twice within
 * one overlap keeps both older secrets, each until its own expiry.
 *
 * Stored as a Redis hash: `current`, `current_at` (epoch ms), and `prev:<secret>` → expiry (ms).
 */

export interface SecretRing {
  current: { secret: string; created_at: number };
  /** still signing, newest first; `expires_at` Infinity: until taken out of WEBHOOK_SECRET */
  previous: { secret: string; expires_at: number }[];
  /** hash fields of previous secrets whose overlap is over (to delete) */
  expired: string[];
}

const PREV = 'prev:';

/** The ring in a stored hash at `nowMs`, or null when the tenant has no secret yet. */
export function readRing(hash: Record<string, string>, nowMs: number): SecretRing | null {
  const secret = hash['current'];
  if (!secret) return null;
  const previous: SecretRing['previous'] = [];
  const expired: string[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(PREV)) continue;
    const expiresAt = Number(value);
    const old = field.slice(PREV.length);
    if (!Number.isFinite(expiresAt) || expiresAt <= nowMs || old === secret) expired.push(field);
    else previous.push({ secret: old, expires_at: expiresAt });
  }
  previous.sort((a, b) => b.expires_at - a.expires_at);
  return { current: { secret, created_at: Number(hash['current_at'] ?? 0) }, previous, expired };
}

/** Every secret that signs now: the current one first, then those still in their overlap. */
export const signingSecrets = (ring: SecretRing): string[] => [ring.current.secret, ...ring.previous.map((p) => p.secret)];

/** The hash field that keeps a replaced secret signing until its expiry. */
export const previousField = (secret: string): string => `${PREV}${secret}`;

/**
 * Replaced secrets that sign at once, at most: every one adds a signature to every delivery,
 * so rotating again and again within an overlap must not grow that without end. Past it the
 * secret that would expire first stops signing at the rotation.
 */
export const MAX_PREVIOUS_SECRETS = 3;

/**
 * Rotation as a script, so two rotations at once cannot lose a secret: the current secret
 * becomes a previous one (expiring at ARGV[3]), ARGV[1] becomes current (created ARGV[2]), and
 * the previous ones past MAX_PREVIOUS_SECRETS that expire first are dropped. Returns the ring
 * as it stands right after (HGETALL), so a rotation answers with the secret it made, even
 * when another one follows at once.
 */
export const ROTATE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'current')
if cur then redis.call('HSET', KEYS[1], '${PREV}' .. cur, ARGV[3]) end
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'current_at', ARGV[2])
local prev = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, ${PREV.length}) == '${PREV}' then prev[#prev + 1] = { all[i], tonumber(all[i + 1]) or 0 } end
end
table.sort(prev, function(a, b) return a[2] > b[2] end)
for i = ${MAX_PREVIOUS_SECRETS} + 1, #prev do redis.call('HDEL', KEYS[1], prev[i][1]) end
return redis.call('HGETALL', KEYS[1])
`;

/** PURE: a ring as hash fields (its previous secrets still signing at `nowMs`), for RESTORE_RING_LUA. */
export function ringFields(ring: SecretRing, nowMs: number): string[] {
  const fields = ['current', ring.current.secret, 'current_at', String(ring.current.created_at)];
  for (const p of ring.previous) if (p.expires_at > nowMs) fields.push(previousField(p.secret), String(p.expires_at));
  return fields;
}

/**
 * A ring a process remembers, written back to a Redis that lost it (emptied, or restored from a
 * copy older than the tenant's first secret): ARGV the hash's fields (`ringFields`), written
 * only while the hash has no current secret, so of processes racing here the first one's ring
 * wins. Returns {1 if written, the hash (HGETALL)}.
 */
export const RESTORE_RING_LUA = `
if redis.call('HEXISTS', KEYS[1], 'current') == 1 then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {1, redis.call('HGETALL', KEYS[1])}
`;

