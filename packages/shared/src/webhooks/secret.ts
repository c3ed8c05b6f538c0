/**
 * The signing secret: WEBHOOK_SECRET when set, else one generated once and kept in Redis, so
 * every API and worker process of a cluster signs with (and reports) the same key. Set
 * WEBHOOK_SECRET on all processes or on none. The value is never logged.
 */
import type { Redis } from 'ioredis';
import { WEBHOOK_SECRET_KEY } from '../queues.js';
import { generateSecret, parseSecret } from './sign.js';

export interface WebhookSecret {
  /** `whsec_…` */
  secret: string;
  key: Buffer;
  source: 'env' | 'redis' | 'generated';
}

export async function resolveWebhookSecret(redis: Redis, configured: string | undefined): Promise<WebhookSecret> {
  if (configured) return { secret: configured, key: parseSecret(configured), source: 'env' };
  const fresh = generateSecret();
  // SET NX: the first process to start wins; the others read its secret.
  const created = await redis.set(WEBHOOK_SECRET_KEY, fresh, 'NX');
  const secret = created === 'OK' ? fresh : await redis.get(WEBHOOK_SECRET_KEY);
  if (!secret) throw new Error(`${WEBHOOK_SECRET_KEY} vanished from Redis`);
  return { secret, key: parseSecret(secret), source: created === 'OK' ? 'generated' : 'redis' };
}
