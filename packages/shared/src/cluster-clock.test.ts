import { afterEach, describe, expect, it } from 'vitest';
import { clusterClockOffset, clusterNow, offsetFrom, resetClusterClock, syncClusterClock, takesReading } from './cluster-clock.js';
import { startRedisServer } from './redis-server.js';
import { Redis } from 'ioredis';

describe('offsetFrom', () => {
  it('reads Redis as having read its clock in the middle of the round trip', () => {
    // Redis says 1000.5 s; sent at 1,000,400 ms, answered at 1,000,410 ms: its clock is 95 ms ahead.
    expect(offsetFrom(['1000', '500000'], 1_000_400, 1_000_410)).toBe(95);
    expect(offsetFrom([2000, 0], 2_000_000 + 30_000, 2_000_000 + 30_000)).toBe(-30_000);
  });
});

describe('takesReading', () => {
  it('takes the first reading whatever its round trip', () => {
    expect(takesReading(0, false, 12_345, 900)).toBe(true);
  });
  it('keeps the offset through jitter and slow round trips, and follows a real change', () => {
    expect(takesReading(100, true, 102, 1)).toBe(false); // jitter: stamps do not wobble
    expect(takesReading(100, true, 150, 200)).toBe(false); // a slow reading is off by up to 100 ms: 50 says nothing
    expect(takesReading(100, true, 5_000, 200)).toBe(true); // but a host clock that stepped shows through it
    expect(takesReading(100, true, 5_000, 2)).toBe(true); // the host's clock was set
    expect(takesReading(100, true, 97, 2)).toBe(true);
  });
});

describe('syncClusterClock against a real Redis', () => {
  afterEach(() => resetClusterClock());

  it("keeps this host's clock as Redis's while Date.now is off", async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.port, '127.0.0.1');
    const realNow = Date.now;
    try {
      expect(clusterClockOffset()).toBe(0);
      Date.now = () => realNow() - 3_600_000; // this host an hour behind
      await syncClusterClock(redis);
      expect(clusterClockOffset()).toBeGreaterThan(3_600_000 - 1000);
      expect(clusterClockOffset()).toBeLessThan(3_600_000 + 1000);
      const [s, us] = await redis.time();
      expect(Math.abs(clusterNow() - (Number(s) * 1000 + Number(us) / 1000))).toBeLessThan(1000);
    } finally {
      Date.now = realNow;
      redis.disconnect();
      await server.stop();
    }
  });
});
