import { describe, expect, it } from 'vitest';
import { Collector, type Clock, type CollectorOptions } from './collector.js';
import type { Slice } from './cut.js';

/** A manual clock: time moves only when the test advances it. */
class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  private soonQueue: (() => void)[] = [];

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  /** Ends the current event-loop turn: runs what was deferred to its end. */
  turn(): void {
    while (this.soonQueue.length > 0) this.soonQueue.shift()!();
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order (and letting promises settle). */
  async advance(ms: number): Promise<void> {
    this.turn();
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Run {
  slices: Slice<string>[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A collector whose runs stay pending until the test finishes them. */
function harness(opts: Partial<CollectorOptions<string>> & { maxRows: number }) {
  const clock = new FakeClock();
  const runs: Run[] = [];
  let active = 0;
  let maxActive = 0;
  const collector = new Collector<string>({
    maxDelayMs: 10,
    concurrency: 1,
    clock,
    ...opts,
    run: (slices) => {
      active++;
      maxActive = Math.max(maxActive, active);
      return new Promise<void>((resolve, reject) => {
        runs.push({
          slices,
          resolve: () => { active--; resolve(); },
          reject: (err) => { active--; reject(err); },
        });
      });
    },
  });
  /** The jobs and row ranges of run i, e.g. ['a:0-2', 'b:0-1']. */
  const slicesOf = (i: number) => runs[i]!.slices.map((s) => `${s.job}:${s.start}-${s.end}@${s.offset}`);
  const finish = async (i: number) => {
    runs[i]!.resolve();
    await settle();
  };
  /** Adds jobs in one event-loop turn, then ends the turn. */
  const arrive = (...jobs: [string, number, string?][]) => {
    for (const [job, rows, key] of jobs) collector.add(job, rows, key ?? 'k');
    clock.turn();
  };
  return { clock, runs, collector, slicesOf, finish, arrive, maxActive: () => maxActive };
}

describe('Collector', () => {
  describe('IDLE: a free instance takes what is pending at once', () => {
    it('a lone job runs at the end of its turn, with no window and no timer', () => {
      const h = harness({ maxRows: 8, maxDelayMs: 10 });
      h.collector.add('a', 1, 'k');
      expect(h.runs).toHaveLength(0); // still this turn
      h.clock.turn();
      expect(h.slicesOf(0)).toEqual(['a:0-1@0']);
      expect(h.clock.now()).toBe(0);
      expect(h.clock.pendingTimers).toBe(0);
    });

    it('jobs arriving in the same turn run together', () => {
      const h = harness({ maxRows: 8 });
      h.arrive(['a', 2], ['b', 1], ['c', 3]);
      expect(h.runs).toHaveLength(1);
      expect(h.slicesOf(0)).toEqual(['a:0-2@0', 'b:0-1@2', 'c:0-3@3']);
    });

    it('a job larger than maxRows is spread over runs, each taken as soon as the instance frees', async () => {
      const h = harness({ maxRows: 4 });
      h.arrive(['big', 10]);
      expect(h.slicesOf(0)).toEqual(['big:0-4@0']);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['big:4-8@0']);
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['big:8-10@0']);
      expect(h.clock.now()).toBe(0);
    });

    it('only the head job\'s shape group shares a run; another group takes the next free instance', () => {
      const h = harness({ maxRows: 4, concurrency: 2 });
      h.arrive(['x1', 1, 'x'], ['y1', 1, 'y'], ['x2', 1, 'x']);
      expect(h.slicesOf(0)).toEqual(['x1:0-1@0', 'x2:0-1@1']);
      expect(h.slicesOf(1)).toEqual(['y1:0-1@0']);
    });
  });

  describe('BUSY: every instance running', () => {
    it('never has more than `concurrency` runs at once', async () => {
      const h = harness({ maxRows: 2, concurrency: 2 });
      for (let i = 0; i < 10; i++) h.collector.add(`j${i}`, 1, 'k');
      h.clock.turn();
      expect(h.runs).toHaveLength(2);
      expect(h.collector.busy).toBe(2);
      await h.clock.advance(1000);
      expect(h.runs).toHaveLength(2);
      for (let i = 0; i < 5; i++) await h.finish(i);
      expect(h.runs).toHaveLength(5);
      expect(h.maxActive()).toBe(2);
      expect(h.collector.pendingRows).toBe(0);
    });

    it('accumulates rows while busy, so under load runs grow by themselves', async () => {
      const h = harness({ maxRows: 8, concurrency: 1 });
      h.arrive(['a', 1]);
      expect(h.slicesOf(0)).toEqual(['a:0-1@0']);
      for (const j of ['b', 'c', 'd', 'e', 'f']) {
        h.arrive([j, 1]);
        await h.clock.advance(5);
      }
      expect(h.runs).toHaveLength(1);
      expect(h.collector.pendingRows).toBe(5);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-1@0', 'c:0-1@1', 'd:0-1@2', 'e:0-1@3', 'f:0-1@4']);
    });

    it('while busy, a run still never exceeds maxRows', async () => {
      const h = harness({ maxRows: 3, concurrency: 1 });
      h.arrive(['a', 3]);
      h.arrive(['b', 2], ['c', 2], ['d', 2], ['e', 2]);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-2@0', 'c:0-1@2']);
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['c:1-2@0', 'd:0-2@1']);
    });
  });

  describe('FULL AHEAD: full runs queue behind busy instances', () => {
    it('hands out up to `fullAhead` full runs beyond `concurrency`; a partial one waits for a free instance', async () => {
      const h = harness({ maxRows: 4, concurrency: 1, fullAhead: 1 });
      h.arrive(['big', 10]);
      expect(h.runs.map((_, i) => h.slicesOf(i))).toEqual([['big:0-4@0'], ['big:4-8@0']]);
      expect(h.maxActive()).toBe(2);
      await h.finish(0);
      expect(h.runs).toHaveLength(2); // 2 rows left: not full, so not ahead of the run in flight
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['big:8-10@0']);
      expect(h.clock.now()).toBe(0);
    });

    it('single rows arriving while busy still accumulate into one run (nothing full, nothing ahead)', async () => {
      const h = harness({ maxRows: 8, concurrency: 1, fullAhead: 1 });
      h.arrive(['a', 1]);
      for (const j of ['b', 'c', 'd']) h.arrive([j, 1]);
      expect(h.runs).toHaveLength(1);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-1@0', 'c:0-1@1', 'd:0-1@2']);
    });

    it('a full run goes ahead at once, without waiting for a preferred-size window', () => {
      const h = harness({ maxRows: 4, preferred: [4], maxDelayMs: 1000, concurrency: 1, fullAhead: 1 });
      h.arrive(['a', 4]);
      h.arrive(['b', 4], ['c', 1]);
      expect(h.runs.map((_, i) => h.slicesOf(i))).toEqual([['a:0-4@0'], ['b:0-4@0']]);
    });

    it('a `fullAhead` function is asked at each dispatch: more may go ahead once it allows more', async () => {
      let ahead = 1;
      const h = harness({ maxRows: 4, concurrency: 1, fullAhead: () => ahead });
      h.arrive(['big', 24]);
      expect(h.runs).toHaveLength(2); // one running, one ahead
      ahead = 3;
      await h.finish(0);
      expect(h.runs).toHaveLength(5); // the run that ended is replaced, and two more go ahead
      expect(h.maxActive()).toBe(4);
      expect(h.runs.map((_, i) => h.slicesOf(i))).toEqual([['big:0-4@0'], ['big:4-8@0'], ['big:8-12@0'], ['big:12-16@0'], ['big:16-20@0']]);
    });

    it('without `fullAhead`, never more than `concurrency` (the default)', () => {
      const h = harness({ maxRows: 4, concurrency: 1 });
      h.arrive(['big', 12]);
      expect(h.runs).toHaveLength(1);
    });
  });

  describe('PREFERRED: an opt-in wait for fuller runs, bounded by maxDelayMs', () => {
    it('waits for the smallest preferred size, at most maxDelayMs from the oldest arrival', async () => {
      const h = harness({ maxRows: 16, preferred: [4, 8], maxDelayMs: 10 });
      h.arrive(['a', 1]);
      await h.clock.advance(6);
      h.arrive(['b', 1]);
      await h.clock.advance(3);
      expect(h.runs).toHaveLength(0);
      await h.clock.advance(1);
      expect(h.clock.now()).toBe(10);
      expect(h.slicesOf(0)).toEqual(['a:0-1@0', 'b:0-1@1']);
    });

    it('dispatches as soon as the preferred size is reached, cut at the largest preferred size that fits', async () => {
      const h = harness({ maxRows: 16, preferred: [4], maxDelayMs: 10 });
      h.arrive(['a', 1], ['b', 1], ['c', 1], ['d', 1], ['e', 1], ['f', 1]);
      expect(h.slicesOf(0)).toEqual(['a:0-1@0', 'b:0-1@1', 'c:0-1@2', 'd:0-1@3']);
      await h.finish(0);
      expect(h.runs).toHaveLength(1);
      await h.clock.advance(10);
      expect(h.slicesOf(1)).toEqual(['e:0-1@0', 'f:0-1@1']);
    });

    it('maxDelayMs 0 never waits', () => {
      const h = harness({ maxRows: 16, preferred: [4], maxDelayMs: 0 });
      h.arrive(['a', 1]);
      expect(h.runs).toHaveLength(1);
    });

    it('a stale delay timer does not fire an extra run', async () => {
      const h = harness({ maxRows: 4, preferred: [4], concurrency: 2 });
      h.arrive(['a', 4]);
      await h.clock.advance(100);
      expect(h.runs).toHaveLength(1);
    });
  });

  describe('maxRows 0 (model cannot batch)', () => {
    it('runs each job alone and whole, one by one, without waiting', async () => {
      const h = harness({ maxRows: 0, maxDelayMs: 1000, concurrency: 1 });
      h.arrive(['a', 5], ['b', 3], ['c', 7]);
      expect(h.runs).toHaveLength(1);
      expect(h.slicesOf(0)).toEqual(['a:0-5@0']);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-3@0']);
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['c:0-7@0']);
      expect(h.clock.now()).toBe(0);
    });

    it('runs up to `concurrency` single jobs at once', () => {
      const h = harness({ maxRows: 0, concurrency: 2 });
      h.arrive(['a', 2], ['b', 2], ['c', 2]);
      expect(h.runs.map((_, i) => h.slicesOf(i))).toEqual([['a:0-2@0'], ['b:0-2@0']]);
    });
  });

  describe('startsAtOnce: whether a job added now leaves at the end of its turn', () => {
    it('yes with a free instance and nothing waiting; no while every instance runs or rows wait', async () => {
      const h = harness({ maxRows: 8, concurrency: 1 });
      expect(h.collector.startsAtOnce(1)).toBe(true);
      h.collector.add('a', 1, 'k');
      expect(h.collector.startsAtOnce(1)).toBe(false); // a waits for the end of this turn
      h.clock.turn();
      expect(h.collector.startsAtOnce(1)).toBe(false); // the instance runs a
      await h.finish(0);
      expect(h.collector.startsAtOnce(1)).toBe(true);
    });

    it('with preferred sizes, only a job that fills the smallest one by itself (the rest wait for the window)', () => {
      const h = harness({ maxRows: 16, preferred: [4, 8], maxDelayMs: 10 });
      expect(h.collector.startsAtOnce(1)).toBe(false);
      expect(h.collector.startsAtOnce(4)).toBe(true);
      expect(harness({ maxRows: 16, preferred: [4], maxDelayMs: 0 }).collector.startsAtOnce(1)).toBe(true);
      expect(harness({ maxRows: 0, preferred: [4] }).collector.startsAtOnce(1)).toBe(true);
    });
  });

  describe('drain()', () => {
    it('resolves at once when idle', async () => {
      const h = harness({ maxRows: 4 });
      await expect(h.collector.drain()).resolves.toBeUndefined();
    });

    it('dispatches without waiting (even for a preferred size) and resolves only when all runs finished', async () => {
      const h = harness({ maxRows: 2, preferred: [2], maxDelayMs: 1000, concurrency: 1 });
      h.collector.add('a', 1, 'k');
      let drained = false;
      const p = h.collector.drain().then(() => { drained = true; });
      expect(h.runs).toHaveLength(1);
      expect(h.clock.now()).toBe(0);
      await settle();
      expect(drained).toBe(false);
      h.arrive(['b', 3]);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-2@0']);
      expect(drained).toBe(false);
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['b:2-3@0']);
      expect(drained).toBe(false);
      await h.finish(2);
      expect(drained).toBe(true);
      await p;
      expect(h.collector.busy).toBe(0);
      expect(h.collector.pendingRows).toBe(0);
    });

    it('waits for runs already in flight even with nothing pending', async () => {
      const h = harness({ maxRows: 1 });
      h.arrive(['a', 1]);
      let drained = false;
      void h.collector.drain().then(() => { drained = true; });
      await settle();
      expect(drained).toBe(false);
      await h.finish(0);
      expect(drained).toBe(true);
    });

    it('resolves every caller', async () => {
      const h = harness({ maxRows: 4 });
      h.arrive(['a', 1]);
      const both = Promise.all([h.collector.drain(), h.collector.drain()]);
      await h.finish(0);
      await expect(both).resolves.toEqual([undefined, undefined]);
    });
  });

  describe('withdraw()', () => {
    it('takes back the chosen pending jobs no run has started, in queue order; a job partly run stays', async () => {
      // one instance, runs of 2: chunk1's first run takes 2 of its 4 rows, chunk2 and the small job wait
      const h = harness({ maxRows: 2, concurrency: 1 });
      h.arrive(['chunk1', 4], ['chunk2', 4], ['small', 1]);
      expect(h.slicesOf(0)).toEqual(['chunk1:0-2@0']);
      expect(h.collector.withdraw((j) => j.startsWith('chunk'))).toEqual(['chunk2']);
      expect(h.collector.pendingRows).toBe(2 + 1); // chunk1's last 2 rows, and the small job
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['chunk1:2-4@0']);
      await h.finish(1);
      expect(h.slicesOf(2)).toEqual(['small:0-1@0']);
    });

    it('ends a drain waiting on nothing but what it took back', async () => {
      const h = harness({ maxRows: 2, concurrency: 1 });
      h.arrive(['a', 2], ['b', 2]);
      let drained = false;
      void h.collector.drain().then(() => { drained = true; });
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['b:0-2@0']);
      expect(h.collector.withdraw(() => true)).toEqual([]); // b runs: not taken back
      await h.finish(1);
      expect(drained).toBe(true);
      const idle = harness({ maxRows: 2, concurrency: 1, preferred: [2], maxDelayMs: 1000 });
      idle.arrive(['x', 1]); // waits for a fuller run
      expect(idle.runs).toHaveLength(0);
      let done = false;
      expect(idle.collector.withdraw(() => true)).toEqual(['x']);
      void idle.collector.drain().then(() => { done = true; });
      await settle();
      expect(done).toBe(true);
      expect(idle.runs).toHaveLength(0);
    });
  });

  describe('failures', () => {
    it('a rejected run does not stop later ones', async () => {
      const h = harness({ maxRows: 1, concurrency: 1 });
      h.arrive(['a', 1], ['b', 1]);
      h.runs[0]!.reject(new Error('session crashed'));
      await settle();
      expect(h.collector.busy).toBe(1);
      expect(h.slicesOf(1)).toEqual(['b:0-1@0']);
      await h.finish(1);
      h.arrive(['c', 1]);
      expect(h.slicesOf(2)).toEqual(['c:0-1@0']);
      await h.finish(2);
      await expect(h.collector.drain()).resolves.toBeUndefined();
    });

    it('drain still resolves when the last run rejects', async () => {
      const h = harness({ maxRows: 4 });
      h.arrive(['a', 1]);
      let drained = false;
      void h.collector.drain().then(() => { drained = true; });
      h.runs[0]!.reject(new Error('boom'));
      await settle();
      expect(drained).toBe(true);
      expect(h.collector.busy).toBe(0);
    });
  });

  describe('queue order', () => {
    // Jobs named '<rank><name>': a lower rank was queued first (or is more urgent).
    const order = (a: string, b: string) => Number(a[0]) - Number(b[0]);

    it('a full-size job arriving after a small one that was queued later runs whole', async () => {
      const h = harness({ maxRows: 4, order });
      h.arrive(['2small', 1], ['1full', 4]); // fetched in one turn, queued the other way round
      expect(h.slicesOf(0)).toEqual(['1full:0-4@0']);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['2small:0-1@0']);
    });

    it('without an order, arrival order rules (and the full-size job is cut in two)', () => {
      const h = harness({ maxRows: 4 });
      h.arrive(['2small', 1], ['1full', 4]);
      expect(h.slicesOf(0)).toEqual(['2small:0-1@0', '1full:0-3@1']);
    });

    it('urgent jobs that arrive while busy lead the next run', async () => {
      const h = harness({ maxRows: 8, order });
      h.arrive(['5a', 1]);
      h.arrive(['5b', 1], ['1c', 1], ['5d', 1], ['1e', 1]);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['1c:0-1@0', '1e:0-1@1', '5b:0-1@2', '5d:0-1@3']);
    });

    it('a job already partly run keeps the head', async () => {
      const h = harness({ maxRows: 4, order });
      h.arrive(['5big', 6]);
      expect(h.slicesOf(0)).toEqual(['5big:0-4@0']);
      h.arrive(['1urgent', 2]);
      await h.finish(0);
      expect(h.slicesOf(1)).toEqual(['5big:4-6@0', '1urgent:0-2@2']);
    });
  });

  describe('bookkeeping', () => {
    it('pendingRows counts untaken rows, busy counts runs in flight', async () => {
      const h = harness({ maxRows: 4 });
      h.arrive(['a', 6]);
      expect(h.collector.busy).toBe(1);
      expect(h.collector.pendingRows).toBe(2);
      await h.finish(0);
      expect(h.collector.busy).toBe(1);
      expect(h.collector.pendingRows).toBe(0);
    });

    it('uses the system clock when none is given', async () => {
      const slices: Slice<string>[][] = [];
      const c = new Collector<string>({ maxRows: 8, maxDelayMs: 1, concurrency: 1, run: async (s) => { slices.push(s); } });
      c.add('a', 1, 'k');
      c.add('b', 1, 'k');
      await new Promise((r) => setTimeout(r, 30));
      expect(slices).toHaveLength(1);
      expect(slices[0]).toHaveLength(2);
    });
  });
});
