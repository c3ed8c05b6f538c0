/**
 * PURE: a tenant's webhook signing secrets as kept in Redis, and which of them sign now.
 *
 * A ring is the current secret plus the secrets it replaced, each until its overlap ends.
 * Rotation makes a new current secret and keeps the old one signing beside it until
 * `expires_at`, so a receiver can switch to the new secret whenever it likes within the
 * overlap (every delivery carries one `v1,` signature per live secret). Rotating twice within
 * one overlap keeps both older secrets, each until its own expiry.
 *
 * Stored as a Redis hash: `current`, `current_at` (epoch ms), and `prev:<secret>` → expiry (ms);
 * `first` while the current secret is the one made at first use (FIRST_SECRET_LUA: a rotation
 * or a restore removes it).
 */

export interface SecretRing {
  current: { secret: string; created_at: number };
  /** still signing, newest first; `expires_at` Infinity: until taken out of WEBHOOK_SECRET */
  previous: { secret: string; expires_at: number }[];
  /** hash fields of previous secrets whose overlap is over (to delete) */
  expired: string[];
}

const PREV = 'prev:';
/** The hash field marking a ring whose current secret was made at first use (see ADOPT_KNOWN_LUA). */
export const FIRST_FIELD = 'first';

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

/** Lua: drops the previous secrets past MAX_PREVIOUS_SECRETS that expire first. */
const TRIM_PREVIOUS = `
local prev = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, ${PREV.length}) == '${PREV}' then prev[#prev + 1] = { all[i], tonumber(all[i + 1]) or 0 } end
end
table.sort(prev, function(a, b) return a[2] > b[2] end)
for i = ${MAX_PREVIOUS_SECRETS} + 1, #prev do redis.call('HDEL', KEYS[1], prev[i][1]) end`;

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
redis.call('HDEL', KEYS[1], '${FIRST_FIELD}')
${TRIM_PREVIOUS}
return redis.call('HGETALL', KEYS[1])
`;

/**
 * A tenant's first secret (ARGV[1], made at ARGV[2]), written only while it has none, so of
 * processes racing here the first one's wins for all; marked FIRST_FIELD.
 */
export const FIRST_SECRET_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'current', ARGV[1], 'current_at', ARGV[2], '${FIRST_FIELD}', '1')
end
return redis.call('HGETALL', KEYS[1])
`;

/** PURE: a ring as hash fields (its previous secrets still signing at `nowMs`), for RESTORE_LUA. */
export function ringFields(ring: SecretRing, nowMs: number): string[] {
  const fields = ['current', ring.current.secret, 'current_at', String(ring.current.created_at)];
  for (const p of ring.previous) if (p.expires_at > nowMs) fields.push(previousField(p.secret), String(p.expires_at));
  return fields;
}

/**
 * A ring a process remembers, written back to a Redis that lost it (emptied, or restored from a
 * copy older than the tenant's first secret): ARGV the hash's fields (`ringFields`), written
 * only while the hash is missing, so of processes racing here the first one's ring wins.
 * Returns {1 if written, the hash (HGETALL)}.
 */
export const RESTORE_RING_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {1, redis.call('HGETALL', KEYS[1])}
`;

/**
 * A current secret a process remembers, put back over the one Redis holds when that one is
 * older (restored from a snapshot taken before a rotation) or was made at first use after
 * Redis lost the ring (FIRST_FIELD: by a process that did not know it): ARGV[1] the secret,
 * ARGV[2] its created_at, ARGV[3] when the stored current stops signing, then the remembered
 * previous secrets' fields and expiries (kept where the hash has none). Never when a rotation
 * there replaced ARGV[1] (it is a previous secret there), so racing processes agree; trimmed
 * as a rotation is. Returns {1 if written, the hash (HGETALL)}.
 */
export const ADOPT_KNOWN_LUA = `
local at = tonumber(redis.call('HGET', KEYS[1], 'current_at')) or 0
local cur = redis.call('HGET', KEYS[1], 'current')
local replaceable = at < tonumber(ARGV[2]) or redis.call('HGET', KEYS[1], '${FIRST_FIELD}') == '1'
if not replaceable or cur == ARGV[1] or redis.call('HEXISTS', KEYS[1], '${PREV}' .. ARGV[1]) == 1 then
  return {0, redis.call('HGETALL', KEYS[1])}
end
if cur then redis.call('HSET', KEYS[1], '${PREV}' .. cur, ARGV[3]) end
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'current_at', ARGV[2])
redis.call('HDEL', KEYS[1], '${FIRST_FIELD}')
for i = 4, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
${TRIM_PREVIOUS}
return {1, redis.call('HGETALL', KEYS[1])}
`;
