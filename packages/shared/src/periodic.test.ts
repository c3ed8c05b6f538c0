import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Periodic } from './periodic.js';

describe('Periodic', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs the task each period, never two at once, and reports a failed run without stopping', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const errors: unknown[] = [];
    const p = new Periodic(async () => {
      runs++;
      if (runs === 2) throw new Error('boom');
      if (runs === 3) await new Promise<void>((r) => (release = r));
    }, 100, (err) => errors.push(err)).start();
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100); // run 3 hangs
    await vi.advanceTimersByTimeAsync(300); // its ticks are skipped
    expect(runs).toBe(3);
    let stopped = false;
    const stopping = p.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false); // waits for the run under way
    release!();
    await stopping;
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toBe(3);
  });

  it('reports the first failure of a streak, then one a period while it lasts, and starts again after a success', async () => {
    let failing = true;
    const reports: number[] = [];
    const p = new Periodic(async () => {
      if (failing) throw new Error('down');
    }, 100, (_err, inARow) => reports.push(inARow), 1000).start();
    await vi.advanceTimersByTimeAsync(100 * 25); // 25 failed runs
    expect(reports).toEqual([1, 11, 21]);
    failing = false;
    await vi.advanceTimersByTimeAsync(100);
    failing = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(reports).toEqual([1, 11, 21, 1]); // a new streak reports at once
    await p.stop();
  });
});
