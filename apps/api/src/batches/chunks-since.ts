/**
 * PURE: when an upload queued its chunks, so that its queue-depth check (services/batches.ts)
 * adds the chunks a depth reading may not hold (those queued since the reading began), and
 * not the ones it does hold, or that ran and left the queue.
 */
export class ChunksSince {
  private readonly times: number[] = [];
  private head = 0;

  /** A chunk queued at `at` (ms). */
  add(at: number): void {
    this.times.push(at);
  }

  /**
   * Chunks queued at or after `at`. Those before are forgotten: readings are asked about in
   * the order they were taken (an older one asked about later counts too few; a reading from
   * before the clock stepped back is not used: services/queues.ts).
   */
  since(at: number): number {
    while (this.head < this.times.length && this.times[this.head]! < at) this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.times.length) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }
}
