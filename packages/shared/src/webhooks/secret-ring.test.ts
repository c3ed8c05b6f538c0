import { describe, expect, it } from 'vitest';
import { previousField, readRing, signingSecrets } from './secret-ring.js';

describe('readRing', () => {
  it('is null before the first secret', () => {
    expect(readRing({}, 0)).toBeNull();
  });

  it('keeps previous secrets until their overlap ends, newest first, and lists the expired', () => {
    const hash = {
      current: 'whsec_C', current_at: '1000',
      [previousField('whsec_B')]: '5000', [previousField('whsec_A')]: '3000', [previousField('whsec_old')]: '900',
    };
    const ring = readRing(hash, 2000)!;
    expect(ring.current).toEqual({ secret: 'whsec_C', created_at: 1000 });
    expect(ring.previous).toEqual([{ secret: 'whsec_B', expires_at: 5000 }, { secret: 'whsec_A', expires_at: 3000 }]);
    expect(ring.expired).toEqual([previousField('whsec_old')]);
    expect(signingSecrets(ring)).toEqual(['whsec_C', 'whsec_B', 'whsec_A']);
    // at 4000 only B is still in its overlap; at 5000 none is
    expect(signingSecrets(readRing(hash, 4000)!)).toEqual(['whsec_C', 'whsec_B']);
    expect(signingSecrets(readRing(hash, 5000)!)).toEqual(['whsec_C']);
  });

  it('never lists the current secret twice, and drops unreadable expiries', () => {
    const ring = readRing({ current: 'whsec_C', [previousField('whsec_C')]: '9999', [previousField('whsec_X')]: 'soon' }, 0)!;
    expect(signingSecrets(ring)).toEqual(['whsec_C']);
    expect(ring.expired.sort()).toEqual([previousField('whsec_C'), previousField('whsec_X')]);
  });
});
