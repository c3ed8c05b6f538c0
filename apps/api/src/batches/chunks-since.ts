/**
 * PURE: when an upload's chunks reached the queue, so that its queue-depth check
 * (services/batches.ts) adds the chunks a depth reading may not hold (those still on their way
 * to Redis, and those that landed since the reading began), and not the ones it does hold, or
 * that ran and left the queue. A chunk that landed just after the reading began may be in it
 * too: counted twice, the check errs on the full side, by at most the chunks in flight.
 */
export class ChunksSince {
  private readonly times: number[] = [];
  private head = 0;
  private inFlight = 0;

  /** A chunk sent to the queue: counted by every reading until it lands. */
  sent(): void {
    this.inFlight++;
  }

  /** A chunk sent has landed at `at` (ms), or failed to (`at` undefined: counted no more). */
  landed(at?: number): void {
    this.inFlight--;
    if (at !== undefined) this.times.push(at);
  }

  /**
   * Chunks in flight, and those that landed at or after `at`. Those that landed before are
   * forgotten: readings are asked about in the order they were taken (an older one asked about
   * later counts too few; a reading from before the clock stepped back is not used:
   * services/queues.ts).
   */
  since(at: number): number {
    while (this.head < this.times.length && this.times[this.head]! < at) this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.times.length) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return this.inFlight + this.times.length - this.head;
  }
}
