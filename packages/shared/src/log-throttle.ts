/**
 * PURE (given `now`): at most one log line per key per `everyMs`. The first occurrence of a key
 * passes; the same key again within `everyMs` is only counted; the next one after that passes
 * with `repeats` (how many were held back), so a line that repeats for hours costs one line a
 * period and still says how often it happened. At most `maxKeys` keys are remembered (the
 * oldest is forgotten first, its held-back count with it).
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; repeats: number }>();

  constructor(
    private readonly everyMs: number,
    private readonly maxKeys = 64,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined: hold the line back (counted); else log it, with `repeats` when some were held back. */
  pass(key: string): { repeats?: number } | undefined {
    const at = this.now();
    const last = this.seen.get(key);
    if (last && at - last.at < this.everyMs) {
      last.repeats++;
      return undefined;
    }
    this.seen.delete(key);
    this.seen.set(key, { at, repeats: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!); // the oldest key
    return last?.repeats ? { repeats: last.repeats } : {};
  }
}
