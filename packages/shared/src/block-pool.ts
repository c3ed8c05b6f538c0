/**
 * PURE: blocks of memory used again, by exact size: the API builds a batch upload's chunks in
 * them (used again once a chunk's bytes have landed in Redis), the worker copies its runs'
 * inputs into them (used again once the session thread sends them back, `adopt`).
 *
 * A chunk's inputs are one block of about a megabyte (models/chunk-size.ts), written into as
 * the upload is read and sent to Redis as it is. Allocated afresh for each chunk, a 200,000-row
 * `.npy` upload made 25 MB of short-lived external memory, which V8 answers with scavenges and
 * one or two full mark-compacts of the API's heap ("external memory pressure"): about a third
 * of the API's CPU for that upload. Blocks taken from here are given back when their chunk's
 * `SET` has been answered (nothing reads them after that), so an upload cycles through the few
 * blocks its chunks in flight need.
 *
 * A block handed out is not zeroed: whoever takes one writes what it uses (the `.npy` reader
 * fills it whole; the chunker tracks what it wrote; a run's copy is as long as the block). Only
 * blocks this pool made come back in through `give`, and at most `maxBytes` of them wait here;
 * the rest are left to the garbage collector.
 */
export class BlockPool {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  private readonly mine = new WeakSet<ArrayBuffer>();

  constructor(private readonly maxBytes: number) {}

  /** A block of exactly `bytes` bytes: a free one, or a new one (zeroed). */
  take(bytes: number): ArrayBuffer {
    const { free } = this;
    for (let i = free.length - 1; i >= 0; i--) {
      const block = free[i]!;
      if (block.byteLength !== bytes) continue;
      free.splice(i, 1);
      this.freeBytes -= bytes;
      return block;
    }
    const block = new ArrayBuffer(bytes);
    this.mine.add(block);
    return block;
  }

  /**
   * Gives back the block under `view` once nothing will read or write it again. A view of
   * memory the pool did not make is ignored, as is a block given back twice; the oldest free
   * blocks make room when the pool is full.
   */
  give(view: ArrayBufferView): void {
    const block = view.buffer;
    if (!(block instanceof ArrayBuffer) || !this.mine.has(block)) return;
    this.keep(block);
  }

  /**
   * Takes in a block that came back from another thread (a transferred ArrayBuffer is a new
   * object on this side, so `give` could not know it): the caller vouches that nothing else
   * holds it. Within `maxBytes`, as for `give`.
   */
  adopt(block: ArrayBuffer): void {
    if (block.byteLength === 0) return;
    this.mine.add(block);
    this.keep(block);
  }

  /** Keeps a free block (not twice; not one larger than the pool), the oldest making room. */
  private keep(block: ArrayBuffer): void {
    if (block.byteLength > this.maxBytes || this.free.includes(block)) return;
    this.free.push(block);
    this.freeBytes += block.byteLength;
    while (this.freeBytes > this.maxBytes) this.freeBytes -= this.free.shift()!.byteLength;
  }

  /** Bytes waiting to be taken (what the tests look at). */
  get idleBytes(): number {
    return this.freeBytes;
  }
}
