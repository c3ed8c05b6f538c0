import { describe, expect, it } from 'vitest';
import { ChunksSince } from './chunks-since.js';

/** `c` with a chunk sent and landed at each of `times`. */
const landedAt = (c: ChunksSince, ...times: number[]) => {
  for (const at of times) {
    c.sent();
    c.landed(at);
  }
};

describe('ChunksSince', () => {
  it('counts the chunks landed at or after a reading began, not those before', () => {
    const c = new ChunksSince();
    expect(c.since(0)).toBe(0);
    landedAt(c, 10, 20, 20, 30);
    expect(c.since(5)).toBe(4);
    expect(c.since(20)).toBe(3);
    expect(c.since(25)).toBe(1);
    landedAt(c, 40);
    expect(c.since(31)).toBe(1);
    expect(c.since(100)).toBe(0);
  });

  it('counts a chunk sent before a reading began and landed after it (the reading may not hold it), until it lands', () => {
    const c = new ChunksSince();
    landedAt(c, 10);
    c.sent(); // on its way while a reading taken at 15 runs
    expect(c.since(15)).toBe(1);
    c.sent();
    expect(c.since(15)).toBe(2);
    c.landed(20);
    expect(c.since(15)).toBe(2); // landed after the reading began
    expect(c.since(25)).toBe(1); // a later reading holds it; the other is still in flight
    c.landed(); // failed: not queued
    expect(c.since(25)).toBe(0);
  });

  it('an upload of many more chunks than a queue holds, drained as it goes, is never counted past what one second queued', () => {
    // 200,000 chunks of one row (a model that cannot batch), 1,000 a second, each reading a second apart
    const c = new ChunksSince();
    let most = 0;
    for (let i = 0; i < 200_000; i++) {
      landedAt(c, i);
      if (i % 1000 === 999) most = Math.max(most, c.since(i - 999));
    }
    expect(most).toBe(1000);
    expect(c.since(199_500)).toBe(500);
  });
});
