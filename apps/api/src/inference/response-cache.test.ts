import { describe, expect, it } from 'vitest';
import { outputTensor, type RawTensor } from '@maas/shared';
import { answerBytes, cacheKey, ResponseCache } from './response-cache.js';

const version = { model: 'mlp', version: 1 };
const stamps = '10:20:30|100:2000:3';
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const input = (data: Uint8Array, shape = [1, 2]): RawTensor => ({ name: 'x', datatype: 'FP32', shape, data });

describe('cacheKey', () => {
  const base = cacheKey('acme', version, stamps, [input(f32(1, 2))], []);
  it('is the same for the same tenant, version, inputs and outputs asked', () => {
    expect(cacheKey('acme', version, stamps, [input(f32(1, 2))], [])).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
  it('changes with the tenant, the version, its file, the model\'s config and labels, a bit of an input, its shape, name or datatype, and the outputs asked', () => {
    const others = [
      cacheKey('other', version, stamps, [input(f32(1, 2))], []),
      cacheKey('acme', { ...version, version: 2 }, stamps, [input(f32(1, 2))], []),
      cacheKey('acme', version, '10:20:30|101:2000:3', [input(f32(1, 2))], []),
      cacheKey('acme', version, '11:20:30|100:2000:3', [input(f32(1, 2))], []), // labels.txt or config.json changed
      cacheKey('acme', version, stamps, [input(f32(1, 2.0000002))], []),
      cacheKey('acme', version, stamps, [input(f32(1, 2), [2, 1])], []),
      cacheKey('acme', version, stamps, [{ ...input(f32(1, 2)), name: 'y' }], []),
      cacheKey('acme', version, stamps, [{ ...input(f32(1, 2)), datatype: 'INT32' }], []),
      cacheKey('acme', version, stamps, [input(f32(1, 2))], [{ name: 'p' }]),
      cacheKey('acme', version, stamps, [input(f32(1, 2))], [{ name: 'p', parameters: { classification: 2 } }]),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
  it('ignores binary_data (how outputs are written, not what they are)', () => {
    expect(cacheKey('acme', version, stamps, [input(f32(1, 2))], [{ name: 'p', parameters: { binary_data: true } }])).toBe(cacheKey('acme', version, stamps, [input(f32(1, 2))], [{ name: 'p' }]));
  });
  it('tells BYTES elements apart by their lengths ("ab","c" is not "a","bc")', () => {
    const s = (...v: string[]): RawTensor => ({ name: 's', datatype: 'BYTES', shape: [v.length], data: v });
    expect(cacheKey('t', version, stamps, [s('ab', 'c')], [])).not.toBe(cacheKey('t', version, stamps, [s('a', 'bc')], []));
  });
});

describe('ResponseCache', () => {
  const answer = (jobId: string, values: number[]) => ({ jobId, model_version: '1', outputs: [outputTensor({ name: 'p', datatype: 'FP32', shape: [1, values.length], data: f32(...values) })] });

  it('gives a hit\'s outputs as fresh tensors over bytes copied at insertion', () => {
    const c = new ResponseCache(1 << 20, 60_000);
    const bytes = f32(0.25, 0.75);
    const a = { jobId: 'job_1', model_version: '1', outputs: [outputTensor({ name: 'p', datatype: 'FP32', shape: [1, 2], data: bytes })] };
    expect(c.set('k', a)).toBe(true);
    bytes.fill(0); // the job's buffer used again: the kept copy is not
    const hit = c.get('k')!;
    expect(hit).toMatchObject({ jobId: 'job_1', model_version: '1' });
    expect(hit.outputs[0]).toMatchObject({ name: 'p', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] });
    expect(c.get('other')).toBeUndefined();
  });
  it('keeps outputs without bytes (classification strings) as they are', () => {
    const c = new ResponseCache(1 << 20, 60_000);
    const cls = { name: 'c', datatype: 'BYTES' as const, shape: [1, 1], data: ['0.9:1:cat'] };
    c.set('k', { jobId: 'j', model_version: '1', outputs: [cls] });
    expect(c.get('k')!.outputs[0]).toEqual(cls);
  });
  it('stays within its bytes, least recently used first out; an answer over a sixteenth is not kept', () => {
    const c = new ResponseCache(16 * 1024, 60_000);
    const big = answer('big', Array.from({ length: 300 }, (_, i) => i)); // 1,200 bytes of values: over 1 KB
    expect(answerBytes(big)).toBeGreaterThan(1024);
    expect(c.set('big', big)).toBe(false);
    for (let i = 0; i < 100; i++) c.set(`k${i}`, answer(`j${i}`, [i, i + 1]));
    expect(c.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(c.get('k0')).toBeUndefined();
    expect(c.get('k99')).toBeDefined();
  });
  it('forgets an entry after its time to live', async () => {
    const c = new ResponseCache(1 << 20, 20);
    c.set('k', answer('j', [1]));
    expect(c.get('k')).toBeDefined();
    await new Promise((r) => setTimeout(r, 40));
    expect(c.get('k')).toBeUndefined();
  });
});
