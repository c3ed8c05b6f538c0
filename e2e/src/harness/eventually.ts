/**
 * The one polling helper of the end-to-end tests: reads until a condition holds, or fails
 * with what it was waiting for and the last value read.
 */
export interface EventuallyOptions {
  /** give up after this long (ms) */
  ms?: number;
  /** pause between reads (ms) */
  every?: number;
  /** what is awaited, for the error */
  what?: string;
  /** more context for the error (e.g. process logs), computed only on failure */
  context?: () => string;
}

export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, opts: EventuallyOptions = {}): Promise<T> {
  const { ms = 20_000, every = 50, what = 'a condition' } = opts;
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) {
      const last = typeof v === 'object' ? JSON.stringify(v)?.slice(0, 2000) : String(v);
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last read: ${last}${opts.context ? `\n${opts.context()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}
