/**
 * What a wait stops on besides its deadline (a long-poll, `Prefer: wait`, a v2 infer's
 * answer): the API stopping, or its client leaving. `StopSignal` is the part of AbortSignal's
 * surface the waits use, so an AbortSignal is one; `Stop` is one made without an EventTarget.
 *
 * Why not AbortControllers: a request that waits needs a signal of its own (its client may
 * leave) joined to the API's. An AbortController, its signal and their EventTarget listeners
 * took 6.5 µs of the API's CPU a `Prefer: wait` job at 64 clients (84 ms in 13,000 jobs, a
 * profile; BENCHMARKS.md round 21), and `AbortSignal.any` more; a `Stop` is an object and a
 * listener list.
 */

export interface StopSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A StopSignal stopped by its holder (`stop()`), once. Each listener is called once, as
 * AbortSignal's `once` listeners are; one added after the stop is never called (as AbortSignal's).
 */
export class Stop implements StopSignal {
  private stopped = false;
  private readonly listeners = new Set<() => void>(); // a Set: the API's own holds every waiter

  get aborted(): boolean {
    return this.stopped;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.stopped) this.listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.delete(listener);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const l of listeners) l();
  }
}

/**
 * Stopped when `a` or `b` is. It keeps no listener of its own on them: one added to it is
 * added to both (called once, by whichever stops first) and removed from both.
 */
export function eitherStop(a: StopSignal, b: StopSignal): StopSignal {
  const wrapped = new Map<() => void, () => void>();
  return {
    get aborted() {
      return a.aborted || b.aborted;
    },
    addEventListener(_type, listener) {
      if (wrapped.has(listener)) return;
      const once = () => {
        if (!wrapped.delete(listener)) return;
        a.removeEventListener('abort', once);
        b.removeEventListener('abort', once);
        listener();
      };
      wrapped.set(listener, once);
      a.addEventListener('abort', once, { once: true });
      b.addEventListener('abort', once, { once: true });
    },
    removeEventListener(_type, listener) {
      const once = wrapped.get(listener);
      if (!once) return;
      wrapped.delete(listener);
      a.removeEventListener('abort', once);
      b.removeEventListener('abort', once);
    },
  };
}
