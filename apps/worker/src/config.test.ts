import { availableParallelism } from 'node:os';
import { ConfigError, STANDARD_RETRY_SCHEDULE_MS } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig, providersFor } from './config.js';

const configError = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      MODEL_REPOSITORY: './models',
      MODEL_REPOSITORY_POLL_S: 5,
      WORKER_MODELS: [],
      WORKER_DEVICE: 'cpu',
      WORKER_LOCK_MS: 30_000,
      WORKER_STALLED_INTERVAL_MS: 1500,
      WORKER_ALIVE_TTL_MS: 3000,
      WORKER_RUN_TIMEOUT_MS: 60_000,
      WORKER_DRAIN_REDIS_WAIT_MS: 10_000,
      WORKER_CONCURRENCY: 0,
      WORKER_INTRA_OP_THREADS: 0,
      WORKER_HEARTBEAT_MS: 5000,
      WORKER_BLOCKING_FETCH: true,
      WORKER_INLINE_MAX_MS: 0.5,
      WORKER_SPIN_THREADS: false,
      JOB_RETENTION_S: 86_400,
      WEBHOOK_RETRY_SCHEDULE: STANDARD_RETRY_SCHEDULE_MS,
      WEBHOOK_ALLOW_PRIVATE: false,
      WEBHOOK_TIMEOUT_MS: 10_000,
      WEBHOOK_CONCURRENCY: 50,
      WORKER_HEALTH_HOST: '127.0.0.1',
      cores: availableParallelism(),
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      REDIS_URL: 'rediss://cache:6380/2',
      MODEL_REPOSITORY: '/srv/models',
      WORKER_MODELS: 'mlp, penguins:2,',
      WORKER_DEVICE: 'cuda',
      WORKER_LOCK_MS: '60000',
      WORKER_STALLED_INTERVAL_MS: '1500',
      WORKER_CONCURRENCY: '128',
      WORKER_INTRA_OP_THREADS: '4',
      WORKER_HEARTBEAT_MS: '1000',
      WORKER_SPIN_THREADS: 'yes',
      WORKER_BLOCKING_FETCH: 'false',
      WORKER_HEALTH_PORT: '8082',
      WORKER_HEALTH_HOST: '0.0.0.0',
    });
    expect(c).toMatchObject({
      WORKER_HEALTH_PORT: 8082,
      WORKER_HEALTH_HOST: '0.0.0.0',
      WORKER_SPIN_THREADS: true,
      WORKER_BLOCKING_FETCH: false,
      REDIS_URL: 'rediss://cache:6380/2', MODEL_REPOSITORY: '/srv/models', WORKER_MODELS: ['mlp', 'penguins:2'], WORKER_DEVICE: 'cuda',
      WORKER_LOCK_MS: 60000, WORKER_STALLED_INTERVAL_MS: 1500, WORKER_CONCURRENCY: 128, WORKER_INTRA_OP_THREADS: 4, WORKER_HEARTBEAT_MS: 1000,
    });
  });

  it('reads the webhook variables', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(loadConfig({
      WEBHOOK_SECRET: secret, WEBHOOK_RETRY_SCHEDULE: '1s,500ms,2m', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_CONCURRENCY: '8', JOB_RETENTION_S: '600',
    })).toMatchObject({
      WEBHOOK_SECRET: [secret], WEBHOOK_RETRY_SCHEDULE: [1000, 500, 120_000], WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_TIMEOUT_MS: 2500,
      WEBHOOK_CONCURRENCY: 8, JOB_RETENTION_S: 600,
    });
    expect(loadConfig({ WEBHOOK_SECRET: '' }).WEBHOOK_SECRET).toBeUndefined();
    const older = 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=';
    expect(loadConfig({ WEBHOOK_SECRET: ` ${secret}, ${older} ` }).WEBHOOK_SECRET).toEqual([secret, older]); // rotating: both sign
    expect(loadConfig({ WORKER_HEALTH_PORT: '' }).WORKER_HEALTH_PORT).toBeUndefined(); // the image's port turned off
  });

  it('rejects a malformed secret or schedule without echoing the secret', () => {
    const e = configError({ WEBHOOK_SECRET: 'whsec_short', WEBHOOK_RETRY_SCHEDULE: '5s,soon' });
    expect(e.problems.map((p) => p.split(':')[0]).sort()).toEqual(['WEBHOOK_RETRY_SCHEDULE', 'WEBHOOK_SECRET']);
    expect(e.message).not.toContain('whsec_short');
    const second = configError({ WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_short' });
    expect(second.problems).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: secret 2 of 2: /)]);
    expect(second.message).not.toContain('whsec_short');
  });

  it('reads the liveness and run timeout variables', () => {
    expect(loadConfig({ WORKER_ALIVE_TTL_MS: '5000', WORKER_RUN_TIMEOUT_MS: '250' })).toMatchObject({ WORKER_ALIVE_TTL_MS: 5000, WORKER_RUN_TIMEOUT_MS: 250 });
    expect(loadConfig({ WORKER_DRAIN_REDIS_WAIT_MS: '1500' }).WORKER_DRAIN_REDIS_WAIT_MS).toBe(1500);
    expect(configError({ WORKER_DRAIN_REDIS_WAIT_MS: '50' }).problems).toHaveLength(1);
    expect(configError({ WORKER_ALIVE_TTL_MS: '100', WORKER_RUN_TIMEOUT_MS: '0' }).problems).toHaveLength(2);
  });

  it('an invalid WORKER_DEVICE throws a ConfigError naming it', () => {
    const e = configError({ WORKER_DEVICE: 'gpu' });
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatch(/^WORKER_DEVICE: /);
  });

  it('rejects a non-redis URL and out-of-range numbers, all at once', () => {
    const e = configError({ REDIS_URL: 'http://x', WORKER_LOCK_MS: '10', WORKER_HEARTBEAT_MS: 'soon', WORKER_STALLED_INTERVAL_MS: '100' });
    expect(e.problems.map((p) => p.split(':')[0]).sort()).toEqual(['REDIS_URL', 'WORKER_HEARTBEAT_MS', 'WORKER_LOCK_MS', 'WORKER_STALLED_INTERVAL_MS']);
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig({ PATH: '/usr/bin', PORT: 'not-a-port' }).WORKER_DEVICE).toBe('cpu');
  });
});

describe('providersFor', () => {
  it('cpu → cpu only', () => {
    expect(providersFor('cpu', undefined)).toEqual(['cpu']);
  });

  it('cuda → cuda, falling back to cpu', () => {
    expect(providersFor('cuda', undefined)).toEqual(['cuda', 'cpu']);
  });

  it('the model\'s configured providers win over the device', () => {
    expect(providersFor('cpu', ['cuda'])).toEqual(['cuda']);
    expect(providersFor('cuda', ['cpu'])).toEqual(['cpu']);
  });

  it('an empty configured list means "not configured"', () => {
    expect(providersFor('cuda', [])).toEqual(['cuda', 'cpu']);
  });
});
