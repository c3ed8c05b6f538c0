import { describe, expect, it } from 'vitest';
import { LogThrottle } from './log-throttle.js';

describe('LogThrottle', () => {
  it('forgets the oldest key past maxKeys (its held-back count with it)', () => {
    let now = 0;
    const t = new LogThrottle(1000, 2, () => now);
    expect(t.pass('a')).toEqual({});
    expect(t.pass('a')).toBeUndefined();
    t.pass('b');
    t.pass('c'); // 'a' forgotten
    expect(t.pass('a')).toEqual({});
    now = 1000;
    expect(t.pass('c')).toEqual({});
  });
});
