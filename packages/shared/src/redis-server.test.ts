import { readFileSync } from 'node:fs';
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

  it('ownProcessGroup: in a process group of its own (a Ctrl-C to ours does not reach it); else in ours', async () => {
    /** The process group of `pid` (field 5 of /proc/<pid>/stat, after the command's parenthesis). */
    const group = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    const own = await startRedisServer({ ownProcessGroup: true });
    const shared = await startRedisServer();
    try {
      expect(group(own.process.pid!)).toBe(own.process.pid);
      expect(group(shared.process.pid!)).toBe(group(process.pid));
    } finally {
      await Promise.all([own.stop(), shared.stop()]);
    }
  });
});
