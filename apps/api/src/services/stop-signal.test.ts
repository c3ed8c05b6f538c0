import { describe, expect, it, vi } from 'vitest';
import { eitherStop, Stop } from './stop-signal.js';

describe('Stop', () => {
  it('calls each listener once, in the order added, and none removed or added after the stop', () => {
    const stop = new Stop();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    const removed = vi.fn();
    stop.addEventListener('abort', a);
    stop.addEventListener('abort', b);
    stop.addEventListener('abort', removed);
    stop.removeEventListener('abort', removed);
    expect(stop.aborted).toBe(false);
    stop.stop();
    stop.stop();
    const late = vi.fn();
    stop.addEventListener('abort', late);
    expect(stop.aborted).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    expect(removed).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
  });

  it('lets a listener remove another during the stop without skipping the rest', () => {
    const stop = new Stop();
    const later = vi.fn();
    stop.addEventListener('abort', () => stop.removeEventListener('abort', later));
    stop.addEventListener('abort', later);
    stop.stop();
    expect(later).toHaveBeenCalledTimes(1); // the stop called every listener it held when it began
  });
});

describe('eitherStop', () => {
  it('is aborted when either is, and calls a listener once, whichever stops first', () => {
    const [a, b] = [new Stop(), new Stop()];
    const either = eitherStop(a, b);
    const heard = vi.fn();
    either.addEventListener('abort', heard);
    either.addEventListener('abort', heard); // the same listener twice is one, as on an EventTarget
    expect(either.aborted).toBe(false);
    b.stop();
    expect(either.aborted).toBe(true);
    a.stop();
    expect(heard).toHaveBeenCalledTimes(1);
  });

  it('removes a listener from both', () => {
    const [a, b] = [new Stop(), new Stop()];
    const either = eitherStop(a, b);
    const heard = vi.fn();
    either.addEventListener('abort', heard);
    either.removeEventListener('abort', heard);
    a.stop();
    b.stop();
    expect(heard).not.toHaveBeenCalled();
  });
});
