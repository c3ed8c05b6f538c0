import { describe, expect, it } from 'vitest';
import { MISSING_REDIS_HINT, startRedisServer } from './redis-server.js';

describe('startRedisServer', () => {
  it('names the Debian package when the binary is missing', async () => {
    await expect(startRedisServer({ bin: '/nonexistent/redis-server' })).rejects.toThrow(MISSING_REDIS_HINT);
    expect(MISSING_REDIS_HINT).toMatch(/apt-get install -y redis-server/);
  });

  it('starts on a free port, answers, and stops', async () => {
    const server = await startRedisServer();
    try {
      expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      const { Redis } = await import('ioredis');
      const client = new Redis(server.url);
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
  });
});
