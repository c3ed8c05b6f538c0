import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainWhileRedisAnswers, RedisGoneError, redisAnswers } from './drain-guard.js';

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

describe('redisAnswers', () => {
  /** A connection whose PINGs answer when `answer` is called. */
  function connection(status = 'ready') {
    const pending: (() => void)[] = [];
    return {
      status,
      pings: 0,
      ping() {
        this.pings++;
        return new Promise<unknown>((resolve) => pending.push(() => resolve('PONG')));
      },
      answer: () => pending.splice(0).forEach((f) => f()),
    };
  }

  it('reads a connection that is not up as unreachable, without a PING', () => {
    const c = connection('reconnecting');
    expect(redisAnswers(c)()).toBe(false);
    expect(c.pings).toBe(0);
  });

  it('reads a ready connection whose PING goes unanswered past lateMs as unreachable (a frozen Redis), one PING at a time', async () => {
    let t = 0;
    const c = connection();
    const reachable = redisAnswers(c, 1000, () => t);
    expect(reachable()).toBe(true);
    t = 999;
    expect(reachable()).toBe(true);
    t = 1000;
    expect(reachable()).toBe(false);
    t = 60_000;
    expect(reachable()).toBe(false);
    expect(c.pings).toBe(1);
    c.answer();
    await Promise.resolve();
    expect(reachable()).toBe(true); // answered: another PING goes out
    expect(c.pings).toBe(2);
  });

  it('with drainWhileRedisAnswers: a drain on a Redis that stopped answering gives up after its wait', async () => {
    const c = connection();
    const d = pendingDrain();
    const guarded = drainWhileRedisAnswers(d.drain, redisAnswers(c, 1000), 2000);
    const outcome = guarded.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(3100);
    expect(await outcome).toBeInstanceOf(RedisGoneError);
  });
});
