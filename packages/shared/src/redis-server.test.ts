import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MISSING_REDIS_HINT, missingRedisHint, startRedisServer } from './redis-server.js';

describe('startRedisServer', () => {
  it("names this system's package when the binary is missing: Debian's, Homebrew's; Docker or WSL on Windows", async () => {
    await expect(startRedisServer({ bin: '/nonexistent/redis-server' })).rejects.toThrow(MISSING_REDIS_HINT);
    expect(missingRedisHint('linux')).toMatch(/apt-get install -y redis-server/);
    expect(missingRedisHint('darwin')).toMatch(/brew install redis/);
    expect(missingRedisHint('win32')).toMatch(/no native Windows build.*docker run -d -p 6379:6379 redis:7.*\$env:REDIS_URL=/);
    for (const p of ['linux', 'darwin', 'win32'] as const) expect(missingRedisHint(p)).toMatch(/REDIS_URL/);
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

  it.skipIf(process.platform !== 'linux')('ownProcessGroup: in a process group of its own (a Ctrl-C to ours does not reach it); else in ours', async () => {
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
