import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { onShutdown, runMain, STARTUP_STOP_GRACE_MS, type LifecycleProcess } from './lifecycle.js';
import type { Logger } from './logger.js';

/** A process stand-in: signals are events, exits are recorded. */
class FakeProcess extends EventEmitter implements LifecycleProcess {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
  signal(s: NodeJS.Signals): void {
    this.emit(s, s);
  }
}

const log = { info: vi.fn(), error: vi.fn(), fatal: vi.fn() } as unknown as Logger;

/** A start-up that finishes when told to. */
function startup() {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { done, finish };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runMain and onShutdown', () => {
  it('a signal during start-up is held, then stops the process once start-up set up its stop (exit 0)', async () => {
    const proc = new FakeProcess();
    const s = startup();
    const stop = vi.fn(async () => {});
    runMain(log, async () => {
      await s.done;
      onShutdown(log, stop, proc);
    }, proc);
    proc.signal('SIGTERM');
    proc.signal('SIGINT'); // a second one changes nothing
    await vi.advanceTimersByTimeAsync(1000);
    expect(stop).not.toHaveBeenCalled();
    expect(proc.exits).toEqual([]); // not killed: Node's default would have been
    s.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(stop).toHaveBeenCalledExactlyOnceWith('SIGTERM');
    expect(proc.exits).toEqual([0]);
    expect(proc.listenerCount('SIGTERM')).toBe(1); // only onShutdown's is left
  });

  it('a start-up stuck after the signal is ended after STARTUP_STOP_GRACE_MS (exit 1)', async () => {
    const proc = new FakeProcess();
    runMain(log, () => new Promise<void>(() => {}), proc);
    proc.signal('SIGINT');
    await vi.advanceTimersByTimeAsync(STARTUP_STOP_GRACE_MS - 1);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(proc.exits).toEqual([1]);
  });

  it('without a signal during start-up, a later one stops as usual; a second one is ignored', async () => {
    const proc = new FakeProcess();
    const stop = vi.fn(async () => {});
    runMain(log, async () => onShutdown(log, stop, proc), proc);
    await vi.advanceTimersByTimeAsync(0);
    expect(stop).not.toHaveBeenCalled();
    proc.signal('SIGINT');
    proc.signal('SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    expect(stop).toHaveBeenCalledExactlyOnceWith('SIGINT');
    expect(proc.exits).toEqual([0]);
    await vi.advanceTimersByTimeAsync(STARTUP_STOP_GRACE_MS);
    expect(proc.exits).toEqual([0]); // no give-up timer was left behind
  });

  it('a stop that throws exits 1; a start-up that fails exits 1 and holds signals no more', async () => {
    const proc = new FakeProcess();
    runMain(log, async () => onShutdown(log, () => Promise.reject(new Error('boom')), proc), proc);
    await vi.advanceTimersByTimeAsync(0);
    proc.signal('SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    expect(proc.exits).toEqual([1]);

    const failing = new FakeProcess();
    runMain(log, () => Promise.reject(new Error('no Redis')), failing);
    await vi.advanceTimersByTimeAsync(0);
    expect(failing.exits).toEqual([1]);
    expect(failing.listenerCount('SIGTERM')).toBe(0);
  });
});
