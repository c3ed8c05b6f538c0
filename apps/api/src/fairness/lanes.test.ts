import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIORITY, MAX_PRIORITY } from '@maas/shared';
import { fairShareEnabled } from './fair-share.js';
import { BATCH_PRIORITY, bandBase, BULL_MAX_PRIORITY, bullPriority, quantum, SCORE_SHIFT, takeTurns, TURN_WIDTH, turnOfScore } from './lanes.js';

describe('bands', () => {
  it('keeps every public priority in order, whatever the turns, within BullMQ\'s limit', () => {
    const samples = [1, 2, 99, DEFAULT_PRIORITY, 101, 999, BATCH_PRIORITY, 1001, 500_000, MAX_PRIORITY];
    for (let i = 1; i < samples.length; i++) {
      const lower = samples[i - 1]!;
      expect(bullPriority(lower, Number.MAX_SAFE_INTEGER)).toBeLessThan(bullPriority(samples[i]!, 0));
    }
    expect(bullPriority(1)).toBe(1); // never 0: BullMQ would put it before every prioritized job
    expect(bullPriority(MAX_PRIORITY)).toBeLessThanOrEqual(BULL_MAX_PRIORITY);
  });

  it('gives turns room only in the fair bands', () => {
    expect(bullPriority(DEFAULT_PRIORITY, 7)).toBe(bandBase(DEFAULT_PRIORITY) + 7);
    expect(bullPriority(BATCH_PRIORITY, TURN_WIDTH + 5)).toBe(bandBase(BATCH_PRIORITY) + TURN_WIDTH - 1); // clamped
    expect(bullPriority(50, 7)).toBe(50); // an explicit priority: first come, first served
    expect(bandBase(101) - bandBase(DEFAULT_PRIORITY)).toBe(TURN_WIDTH);
  });

  it('a turn is one micro-batch of rows for jobs, one chunk for batch files', () => {
    expect(quantum(DEFAULT_PRIORITY, { maxBatchSize: 64 }, 8192)).toBe(64);
    expect(quantum(BATCH_PRIORITY, { maxBatchSize: 64 }, 8192)).toBe(8192);
    expect(quantum(DEFAULT_PRIORITY, { maxBatchSize: 0 }, 1)).toBe(1);
  });

  it('reads a queued job\'s turn back from BullMQ\'s score exactly, up to the largest priority', () => {
    const base = bandBase(BATCH_PRIORITY);
    const score = (base + TURN_WIDTH - 1) * SCORE_SHIFT + (SCORE_SHIFT - 1);
    expect(score).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(turnOfScore(score, base)).toBe(TURN_WIDTH - 1);
    expect(turnOfScore(base * SCORE_SHIFT + 3, base)).toBe(0);
  });
});

describe('takeTurns (start-time fair queueing)', () => {
  it('starts a new busy period at 0 when the band is empty, whatever the lane held', () => {
    expect(takeTurns(undefined, 12_345, [4, 4], 4)).toEqual({ turns: [0, 1], finish: 2 });
  });

  it('interleaves a newcomer with a flood: its job starts at the head\'s turn, not behind the flood', () => {
    // A queues 1,000 one-row jobs (quantum 1): turns 0..999.
    const a = takeTurns(undefined, 0, Array(1000).fill(1), 1);
    expect(a.turns.slice(0, 3)).toEqual([0, 1, 2]);
    expect(a.turns.at(-1)).toBe(999);
    // 10 of them have run: the head is at turn 10; B's first jobs take turns 10, 11, …
    const b = takeTurns(10, 0, [1, 1, 1], 1);
    expect(b.turns).toEqual([10, 11, 12]);
    // …so in BullMQ's order (turn, then arrival) B's third job runs after 3 + 3 of A's, not 990.
    const order = [...a.turns.map((t, i) => ({ t, who: 'A', i })), ...b.turns.map((t, i) => ({ t, who: 'B', i: 1000 + i }))]
      .filter((j) => j.who === 'B' || j.t >= 10)
      .sort((x, y) => x.t - y.t || x.i - y.i);
    expect(order.findIndex((j) => j.who === 'B' && j.i === 1002)).toBe(5);
  });

  it('a tenant\'s own jobs keep their order and move its lane by rows over the quantum', () => {
    const r = takeTurns(0, 0, [32, 1, 1, 64], 32);
    expect(r.turns).toEqual([0, 1, 1, 1]);
    expect(r.finish).toBeCloseTo(1 + 2 / 32 + 2);
    // an idle lane behind the head starts at the head; one ahead keeps its place
    expect(takeTurns(50, 3, [1], 1).turns).toEqual([50]);
    expect(takeTurns(50, 80.5, [1], 1).turns).toEqual([80]);
  });

  it('clamps past the band\'s room instead of wrapping ahead of older jobs', () => {
    const r = takeTurns(TURN_WIDTH - 2, TURN_WIDTH - 2, [1, 1, 1], 1);
    expect(r.turns).toEqual([TURN_WIDTH - 2, TURN_WIDTH - 1, TURN_WIDTH - 1]);
    expect(r.finish).toBe(TURN_WIDTH + 1);
  });
});

describe('fairShareEnabled', () => {
  const keys = (...tenants: string[]) => new Map(tenants.map((t, i) => [`k${i}`, t]));
  it('auto: on with two tenants or more, off for one (or none): a single tenant pays nothing', () => {
    expect(fairShareEnabled('auto', undefined)).toBe(false);
    expect(fairShareEnabled('auto', keys('a', 'a'))).toBe(false);
    expect(fairShareEnabled('auto', keys('a', 'b'))).toBe(true);
    expect(fairShareEnabled('on', undefined)).toBe(true);
    expect(fairShareEnabled('off', keys('a', 'b'))).toBe(false);
  });
});
