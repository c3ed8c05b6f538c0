/**
 * Whether the API and the workers were given the same WEBHOOK_SECRET. The API reports it
 * (`GET /v1/webhooks/secret`) and the workers sign with it; a process given none signs with
 * the secret kept in Redis instead, so one set on the API alone (or on the workers alone) makes
 * every delivery's signature fail at its receiver, with nothing else amiss. Each process says
 * at start-up what it was given, as a fingerprint (never the secret: the first 16 hex digits of
 * its SHA-256, or `none`), and compares it with the other role's last word: a mismatch is
 * logged with what to do. It is a warning, not a refusal: while a secret is rotated the roles
 * differ for a while, as the rotation expects ("whsec_new whsec_old" set process by process).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PREFIX } from '../queues.js';
import { refusesWrites } from '../redis.js';

/** Hash: role (`api`, `worker`) → the fingerprint of the WEBHOOK_SECRET its last process to start was given. */
export const CONFIGURED_SECRET_KEY = `${PREFIX}:webhook-secret:configured`;

export type SecretRole = 'api' | 'worker';

/** PURE: what a process given `configured` (WEBHOOK_SECRET's secrets, current first) says of it. */
export const secretFingerprint = (configured: readonly string[] | undefined): string =>
  configured?.length ? createHash('sha256').update(configured[0]!).digest('hex').slice(0, 16) : 'none';

/** PURE: the warning for a process of `role` whose fingerprint is `mine`, when the other role's (`theirs`) differs; else undefined. */
export function secretMismatch(role: SecretRole, mine: string, theirs: string | null): string | undefined {
  if (theirs === null || theirs === mine) return undefined;
  const other = role === 'api' ? 'the workers' : 'the API';
  const given = (fp: string) => (fp === 'none' ? 'no WEBHOOK_SECRET' : 'a WEBHOOK_SECRET');
  return (
    `this ${role === 'api' ? 'API' : 'worker'} was given ${given(mine)} and ${other} ${mine === 'none' || theirs === 'none' ? given(theirs) : 'another one'}: ` +
    'open-mode deliveries are signed by the workers, so their signatures will not verify with the secret GET /v1/webhooks/secret reports; ' +
    'set the same WEBHOOK_SECRET on the API and every worker (or on none), unless a rotation is under way'
  );
}

/**
 * Records this process's fingerprint for `role` and returns the warning to log, if the other
 * role's differs. Advice only: a Redis refusing writes for a while (out of memory) does not
 * keep the process from starting (it did: a worker, which frees memory by running jobs, could
 * not come up while Redis was full); the fingerprint is then not recorded this time.
 */
export async function checkConfiguredSecret(redis: Redis, role: SecretRole, configured: readonly string[] | undefined): Promise<string | undefined> {
  const mine = secretFingerprint(configured);
  const other: SecretRole = role === 'api' ? 'worker' : 'api';
  const recorded = redis.hset(CONFIGURED_SECRET_KEY, role, mine).catch((err: unknown) => {
    if (!refusesWrites(err)) throw err;
  });
  const [, theirs] = await Promise.all([recorded, redis.hget(CONFIGURED_SECRET_KEY, other)]);
  return secretMismatch(role, mine, theirs);
}
