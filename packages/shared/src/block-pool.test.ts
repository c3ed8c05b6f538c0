import { describe, expect, it } from 'vitest';
import { BlockPool } from './block-pool.js';

describe('BlockPool', () => {
  it('hands a given-back block out again for the same size only', () => {
    const pool = new BlockPool(1 << 20);
    const a = pool.take(1024);
    expect(a.byteLength).toBe(1024);
    pool.give(new Float32Array(a, 0, 10)); // any view of it gives the whole block back
    expect(pool.idleBytes).toBe(1024);
    const other = pool.take(512);
    expect(other).not.toBe(a);
    expect(pool.take(1024)).toBe(a);
    expect(pool.idleBytes).toBe(0);
    expect(pool.take(1024)).not.toBe(a); // taken: a new one
  });

  it('ignores memory it did not make, and a block given back twice', () => {
    const pool = new BlockPool(1 << 20);
    pool.give(Buffer.alloc(1024));
    pool.give(new Uint8Array(new ArrayBuffer(1024)));
    expect(pool.idleBytes).toBe(0);
    const a = pool.take(1024);
    pool.give(Buffer.from(a));
    pool.give(Buffer.from(a));
    expect(pool.idleBytes).toBe(1024);
    expect(pool.take(1024)).toBe(a);
    expect(pool.take(1024)).not.toBe(a);
  });

  it('keeps at most its bytes, dropping the oldest free blocks', () => {
    const pool = new BlockPool(3000);
    const [a, b, c] = [pool.take(1000), pool.take(1000), pool.take(1000)];
    const big = pool.take(4000);
    for (const block of [a, b, c]) pool.give(new Uint8Array(block));
    expect(pool.idleBytes).toBe(3000);
    pool.give(new Uint8Array(big)); // larger than the pool: left to the collector
    expect(pool.idleBytes).toBe(3000);
    const d = pool.take(1000);
    expect(d).toBe(c); // the newest first
    pool.give(new Uint8Array(d));
    pool.give(new Uint8Array(pool.take(500)));
    expect(pool.idleBytes).toBe(2500); // the oldest (a) made room
    const [x, y] = [pool.take(1000), pool.take(1000)];
    expect(x !== y && [b, c].includes(x) && [b, c].includes(y)).toBe(true);
    expect(pool.take(1000)).not.toBe(a);
  });

  it('adopts a block that crossed threads (a new object there), within its bytes, once', () => {
    const pool = new BlockPool(3000);
    const crossed = structuredClone(new ArrayBuffer(1000), { transfer: [] }) as ArrayBuffer; // a block this pool never saw
    pool.give(new Uint8Array(crossed));
    expect(pool.idleBytes).toBe(0); // give takes back only its own
    pool.adopt(crossed);
    pool.adopt(crossed);
    expect(pool.idleBytes).toBe(1000);
    expect(pool.take(1000)).toBe(crossed);
    pool.adopt(new ArrayBuffer(4000)); // larger than the pool
    pool.adopt(new ArrayBuffer(0));
    expect(pool.idleBytes).toBe(0);
    pool.give(new Uint8Array(crossed)); // adopted: its own from now on
    expect(pool.idleBytes).toBe(1000);
  });
});
