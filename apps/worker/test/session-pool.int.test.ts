/**
 * SessionPool healing on real session threads and onnxruntime (no Redis): a thread that dies
 * mid-run and a run past the run timeout. Runs the built pool (dist/), whose threads start
 * from dist/inference/session-thread.js: `npm run build` first.
 */
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { RawTensor } from '@maas/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionLostError } from '../dist/inference/instance-health.js';
import { SessionPool } from '../dist/inference/session-pool.js';
import { InlineSession } from '../dist/inference/inline-session.js';
import { RunRejectedError } from '../dist/inference/run-rejected.js';

const MLP = fileURLToPath(new URL('../../../models/mlp/1/model.onnx', import.meta.url));
const init = { path: MLP, providers: ['cpu'], intraOpNumThreads: 1, spinning: false, warmup: [] };

function feed(rows: number, seed: number): { tensor: RawTensor; data: Float32Array } {
  const data = Float32Array.from({ length: rows * 32 }, (_, i) => Math.sin(seed * 7919 + i));
  return { tensor: { name: 'input', datatype: 'FP32', shape: [rows, 32], data: new Uint8Array(data.slice().buffer) }, data };
}

async function reference(data: Float32Array, rows: number): Promise<number[]> {
  const s = await ort.InferenceSession.create(MLP, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ input: new ort.Tensor('float32', data, [rows, 32]) });
    return Array.from(out['output']!.data as Float32Array);
  } finally {
    await s.release();
  }
}

const floats = (t: RawTensor): number[] => Array.from(new Float32Array((t.data as Uint8Array).slice().buffer));

const pools: SessionPool[] = [];
afterEach(async () => {
  while (pools.length) await pools.pop()!.close();
});

describe('SessionPool queues', () => {
  it('runs handed to a busy instance wait behind its run, in order, each with its own outputs and its own time', async () => {
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    const feeds = [1, 2, 3, 4].map((seed) => feed(2048, seed));
    const t0 = performance.now();
    const results = await Promise.all(feeds.map((f) => pool.run([f.tensor])));
    const wall = performance.now() - t0;
    for (const [i, r] of results.entries()) expect(floats(r.outputs[0]!)).toEqual(await reference(feeds[i]!.data, 2048));
    // Each run's time is its own, not the wait behind the runs ahead of it: the four fit in the wall time.
    expect(results.reduce((n, r) => n + r.ms, 0)).toBeLessThanOrEqual(wall);
  });

  it('slices of one buffer run as copies whose memory the thread sends back for the next copies: each run its own rows', async () => {
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    const rows = 256;
    const runs = 6;
    const data = Float32Array.from({ length: runs * rows * 32 }, (_, i) => Math.sin(i * 0.37));
    const chunk = new Uint8Array(data.buffer); // one buffer, as a batch chunk's input
    const slice = (k: number): RawTensor => ({ name: 'input', datatype: 'FP32', shape: [rows, 32], data: chunk.subarray(k * rows * 128, (k + 1) * rows * 128) });
    const want = await Promise.all(Array.from({ length: runs }, (_, k) => reference(data.slice(k * rows * 32, (k + 1) * rows * 32), rows)));
    for (let round = 0; round < 2; round++) {
      // the second round's copies go into the first round's memory, as it came back (not zeroed)
      const results = await Promise.all(Array.from({ length: runs }, (_, k) => pool.run([slice(k)])));
      results.forEach((r, k) => expect(floats(r.outputs[0]!)).toEqual(want[k]));
      expect(pool.spareFeedBytes).toBe(runs * rows * 128); // every copy came back
    }
    expect(chunk.byteLength).toBe(runs * rows * 128); // the chunk itself never left (a transfer would have emptied it)
  });

  it('a feed that is a whole buffer of its own (a job\'s input) stays readable: a failed run\'s isolation runs it again from the same bytes', async () => {
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    const f = feed(64, 3); // 8 KiB, its own ArrayBuffer, as a packed job's input decoded from base64
    const bytes = f.tensor.data as Uint8Array;
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    const first = await pool.run([f.tensor]);
    expect(bytes.byteLength, 'the job\'s bytes are still here (a transfer would have emptied them)').toBe(64 * 128);
    const again = await pool.run([{ ...f.tensor, shape: [32, 32], data: bytes.subarray(0, 32 * 128) }]);
    const want = await reference(f.data, 64);
    expect(floats(first.outputs[0]!)).toEqual(want);
    expect(floats(again.outputs[0]!)).toEqual(want.slice(0, 32 * 2));
  });

  it('a queued run\'s timeout counts from its own start, not from when it was handed out', { timeout: 30_000 }, async () => {
    const rows = 16_384;
    const data = Float32Array.from({ length: rows * 32 }, (_, i) => Math.sin(i));
    // a fresh copy each run: a run's buffer is transferred to the thread
    const big = (): RawTensor => ({ name: 'input', datatype: 'FP32', shape: [rows, 32], data: new Uint8Array(data.slice().buffer) });
    const probe = await SessionPool.open(init, 1, { runTimeoutMs: 60_000 });
    pools.push(probe);
    let longest = 0;
    for (let i = 0; i < 3; i++) longest = Math.max(longest, (await probe.run([big()])).ms);
    // 24 runs queued at once take 24 runs' time; each has (at least) 5 runs' time of its own.
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: Math.max(100, Math.ceil(5 * longest)) });
    pools.push(pool);
    const feeds = Array.from({ length: 24 }, big);
    const results = await Promise.all(feeds.map((f) => pool.run([f])));
    expect(results).toHaveLength(24);
    expect(pool.replacements).toBe(0);
  });
});

describe('SessionPool heals', () => {
  it('a thread that dies mid-run: the run fails retryably, the model reads not served, a new thread serves the next run', async () => {
    // the first thread exits when its 2nd run arrives
    const pool = await SessionPool.open({ ...init, exitOnRun: 2 }, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    const flips: boolean[] = [];
    pool.onServingChange((s) => flips.push(s));

    const a = feed(3, 1);
    expect(floats((await pool.run([a.tensor])).outputs[0]!)).toEqual(await reference(a.data, 3));

    const lost = await pool.run([feed(3, 2).tensor]).then(() => undefined, (e: unknown) => e);
    expect(lost).toBeInstanceOf(SessionLostError);
    expect((lost as SessionLostError).reason).toMatch(/exited with code 70/);
    expect(pool.serving).toBe(false);

    const c = feed(5, 3);
    expect(floats((await pool.run([c.tensor])).outputs[0]!)).toEqual(await reference(c.data, 5));
    expect(pool.replacements).toBe(1);
    expect(pool.serving).toBe(true);
    expect(flips).toEqual([false, true]);
  });

  it('a run past the run timeout: fails retryably without waiting for it; the thread is replaced and serves again', async () => {
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: 150 });
    pools.push(pool);
    const big = feed(200_000, 4).tensor; // ~1 s of compute
    const t0 = performance.now();
    const lost = await pool.run([big]).then(() => undefined, (e: unknown) => e);
    expect(lost).toBeInstanceOf(SessionLostError);
    expect((lost as SessionLostError).reason).toMatch(/longer than 150 ms/);
    const lostMs = performance.now() - t0;
    console.log(`run timeout 150 ms: the run failed after ${lostMs.toFixed(0)} ms`);
    expect(lostMs).toBeLessThan(900);
    expect(pool.wedgedThreads).toBe(1); // its run still goes on, keeping a core

    const small = feed(2, 5);
    expect(floats((await pool.run([small.tensor])).outputs[0]!)).toEqual(await reference(small.data, 2));
    expect(pool.replacements).toBe(1);
    // Once its run returns, the wedged thread closes as it was asked to.
    for (let t = performance.now(); pool.wedgedThreads > 0 && performance.now() - t < 10_000;) await new Promise((r) => setTimeout(r, 20));
    expect(pool.wedgedThreads).toBe(0);
    // The drain bound: close() waits at most its grace period for the wedged thread.
    const c0 = performance.now();
    await pool.close();
    expect(performance.now() - c0).toBeLessThan(6000);
  }, 30_000);

  it('close() ends within its bound and later runs fail', async () => {
    const pool = await SessionPool.open(init, 2, { runTimeoutMs: 1000 });
    const t0 = performance.now();
    await pool.close();
    expect(performance.now() - t0).toBeLessThan(5000);
    const closed = await pool.run([feed(1, 6).tensor]).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(Error);
    expect((closed as Error).message).toMatch(/closed/);
    expect(closed).not.toBeInstanceOf(RunRejectedError); // the worker's doing, not the rows'
  });

  it("a run onnxruntime refuses for its feeds fails with RunRejectedError (the rows' doing), on a thread and inline", async () => {
    const pool = await SessionPool.open(init, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    const wrong: RawTensor = { name: 'input', datatype: 'FP32', shape: [1, 31], data: new Uint8Array(31 * 4) };
    await expect(pool.run([wrong])).rejects.toBeInstanceOf(RunRejectedError);
    const inline = await InlineSession.open(MLP);
    try {
      await expect(inline.run([wrong])).rejects.toBeInstanceOf(RunRejectedError);
    } finally {
      await inline.release();
    }
    const f = feed(1, 2);
    expect(floats((await pool.run([f.tensor])).outputs[0]!)).toEqual(await reference(f.data, 1)); // the session serves on
  });
});

describe('warm-up', () => {
  const run = (rows: number, width = 32) => ({ rows, inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [rows, width] }] });

  it('each thread makes its runs of zeros before it is ready, and serves the same outputs after', async () => {
    const pool = await SessionPool.open({ ...init, warmup: [run(1), run(1024)] }, 2, { runTimeoutMs: 10_000 });
    pools.push(pool);
    expect(pool.warmup.rows).toEqual([1, 1024]);
    expect(pool.warmup.failure).toBeUndefined();
    expect(pool.warmup.ms).toBeGreaterThan(0);
    const f = feed(64, 3);
    expect(floats((await pool.run([f.tensor])).outputs[0]!)).toEqual(await reference(f.data, 64));
  });

  it('a run the model refuses is reported, the runs after it are not made, and the pool serves anyway', async () => {
    const pool = await SessionPool.open({ ...init, warmup: [run(1), run(4, 31), run(8)] }, 1, { runTimeoutMs: 10_000 });
    pools.push(pool);
    expect(pool.warmup.rows).toEqual([1]);
    expect(pool.warmup.failure).toMatch(/^a run of 4 rows of zeros failed: .*input/i);
    const f = feed(5, 4);
    expect(floats((await pool.run([f.tensor])).outputs[0]!)).toEqual(await reference(f.data, 5));
  });

  it('the main thread\'s session makes the runs it is given', async () => {
    const inline = await InlineSession.open(MLP, [run(1)]);
    try {
      expect(inline.warmup).toMatchObject({ rows: [1] });
      expect(inline.warmup.failure).toBeUndefined();
    } finally {
      await inline.release();
    }
  });
});
