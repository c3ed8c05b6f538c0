/**
 * TurnCoalescer: the endings (or starts) of one micro-batch settle in the same event-loop turn;
 * this gathers them so the ledger writes them in one script call per queue.
 */
interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

/**
 * Calls made in one event-loop turn, grouped by queue, sent as ONE call per queue at the
 * turn's end (`send` gets the inputs in order and answers one output per input). A failed
 * send rejects every call it carried.
 */
export class TurnCoalescer<I, T> {
  private pending = new Map<string, { inputs: I[]; waiters: Waiter<T>[] }>();

  constructor(private readonly send: (queueName: string, inputs: I[]) => Promise<T[]>) {}

  add(queueName: string, input: I): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(() => this.flush());
      let q = this.pending.get(queueName);
      if (!q) this.pending.set(queueName, (q = { inputs: [], waiters: [] }));
      q.inputs.push(input);
      q.waiters.push({ resolve, reject });
    });
  }

  private flush(): void {
    const byQueue = this.pending;
    this.pending = new Map();
    for (const [queueName, { inputs, waiters }] of byQueue) {
      this.send(queueName, inputs).then(
        (out) => waiters.forEach((w, i) => w.resolve(out[i]!)),
        (err: unknown) => waiters.forEach((w) => w.reject(err as Error)),
      );
    }
  }
}
