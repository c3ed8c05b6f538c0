import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainWhileRedisAnswers, RedisGoneError } from './drain-guard.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A drain that ends when told to. */
function pendingDrain() {
  let end!: () => void;
  let fail!: (err: Error) => void;
  const drain = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  return { drain, end, fail };
}

describe('drainWhileRedisAnswers', () => {
  it('settles as the drain does while Redis answers, however long it takes', async () => {
    const d = pendingDrain();
    const guarded = drainWhileRedisAnswers(d.drain, () => true, 1000);
    let settled = false;
    void guarded.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).toBe(false);
    d.end();
    await expect(guarded).resolves.toBeUndefined();
  });

  it('passes a failed drain on', async () => {
    const d = pendingDrain();
    const guarded = drainWhileRedisAnswers(d.drain, () => true, 1000);
    d.fail(new Error('boom'));
    await expect(guarded).rejects.toThrow('boom');
  });

  it('gives up with RedisGoneError once Redis has been unreachable for the whole wait', async () => {
    const d = pendingDrain();
    const guarded = drainWhileRedisAnswers(d.drain, () => false, 1000, 100);
    const outcome = guarded.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(900);
    let early: unknown = 'pending';
    void guarded.catch((err: unknown) => (early = err));
    await vi.advanceTimersByTimeAsync(0);
    expect(early).toBe('pending');
    await vi.advanceTimersByTimeAsync(300);
    const err = await outcome;
    expect(err).toBeInstanceOf(RedisGoneError);
    expect((err as Error).message).toMatch(/unreachable for 1000 ms/);
    // a drain that ends afterwards changes nothing
    d.end();
    await expect(guarded).rejects.toBeInstanceOf(RedisGoneError);
  });

  it('starts the wait over when Redis answers again in between', async () => {
    const d = pendingDrain();
    let up = false;
    const guarded = drainWhileRedisAnswers(d.drain, () => up, 1000, 100);
    let failed = false;
    void guarded.catch(() => (failed = true));
    await vi.advanceTimersByTimeAsync(800); // down 0.8 s
    up = true;
    await vi.advanceTimersByTimeAsync(200); // back
    up = false;
    await vi.advanceTimersByTimeAsync(800); // down 0.8 s again: 1.6 s in all, never 1 s at a stretch
    expect(failed).toBe(false);
    d.end();
    await expect(guarded).resolves.toBeUndefined();
  });
});
