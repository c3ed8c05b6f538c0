import { describe, expect, it } from 'vitest';
import { ChunksSince } from './chunks-since.js';

describe('ChunksSince', () => {
  it('counts the chunks queued at or after a reading began, not those before', () => {
    const c = new ChunksSince();
    expect(c.since(0)).toBe(0);
    for (const at of [10, 20, 20, 30]) c.add(at);
    expect(c.since(5)).toBe(4);
    expect(c.since(20)).toBe(3);
    expect(c.since(25)).toBe(1);
    c.add(40);
    expect(c.since(31)).toBe(1);
    expect(c.since(100)).toBe(0);
  });

  it('an upload of many more chunks than a queue holds, drained as it goes, is never counted past what one second queued', () => {
    // 200,000 chunks of one row (a model that cannot batch), 1,000 a second, each reading a second apart
    const c = new ChunksSince();
    let most = 0;
    for (let i = 0; i < 200_000; i++) {
      c.add(i);
      if (i % 1000 === 999) most = Math.max(most, c.since(i - 999));
    }
    expect(most).toBe(1000);
    expect(c.since(199_500)).toBe(500);
  });
});
