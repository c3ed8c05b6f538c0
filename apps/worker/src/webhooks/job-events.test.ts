import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { isFinalFailure } from './job-events.js';

describe('isFinalFailure', () => {
  it('is final for unrecoverable errors (model errors, cancel, expiry)', () => {
    expect(isFinalFailure({ attemptsMade: 1, opts: { attempts: 3 } }, new UnrecoverableError('canceled'))).toBe(true);
  });
  it('is final once the attempts are used up, not before', () => {
    expect(isFinalFailure({ attemptsMade: 1, opts: { attempts: 3 } }, new Error('redis'))).toBe(false);
    expect(isFinalFailure({ attemptsMade: 3, opts: { attempts: 3 } }, new Error('redis'))).toBe(true);
    expect(isFinalFailure({ attemptsMade: 1, opts: {} }, new Error('x'))).toBe(true);
  });
});
