// Two guarantees: (1) models/ is exactly what the generator produces, so the
// committed binaries are reproducible and reviewable through this code, and
// (2) every shipped model loads in onnxruntime and behaves as documented.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateAll, toBytes, type GeneratedFiles } from './generate.js';
import { decodeModel } from './onnx-builder.js';
import { loadPenguins } from './penguins-data.js';
import { createRng } from './prng.js';
import { accuracy } from './train.js';

const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));
const modelPath = (rel: string) => join(MODELS_DIR, ...rel.split('/'));

let files: GeneratedFiles;
beforeAll(() => {
  files = generateAll();
}, 60_000);

function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

function tensorMeta(meta: ort.InferenceSession.ValueMetadata | undefined) {
  if (!meta?.isTensor) throw new Error(`expected tensor metadata, got ${JSON.stringify(meta)}`);
  return { name: meta.name, type: meta.type, shape: [...meta.shape] };
}

/** Sums of each row of a [rows, cols] tensor. */
function rowSums(data: Float32Array, cols: number): number[] {
  const sums: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += data[r * cols + c]!;
    sums.push(s);
  }
  return sums;
}

describe('byte-identical regeneration', () => {
  it('generates the same bytes twice', () => {
    const again = generateAll();
    expect([...again.keys()]).toEqual([...files.keys()]);
    for (const [rel, content] of files) {
      expect(Buffer.from(toBytes(again.get(rel)!)).equals(Buffer.from(toBytes(content))), rel).toBe(true);
    }
  }, 60_000);

  it('matches the files committed in models/ (run `npm run models` if this fails)', () => {
    for (const [rel, content] of files) {
      const path = modelPath(rel);
      expect(existsSync(path), `${rel} missing`).toBe(true);
      expect(Buffer.from(readFileSync(path)).equals(Buffer.from(toBytes(content))), `${rel} differs`).toBe(true);
    }
  });

  it('writes the documented headers and configs', () => {
    for (const [rel, content] of files) {
      if (!rel.endsWith('.onnx')) continue;
      const model = decodeModel(toBytes(content));
      expect(Number(model.irVersion), rel).toBe(8);
      expect(model.opsetImport.map((o) => ({ domain: o.domain, version: Number(o.version) })), rel).toEqual([
        { domain: '', version: 13 },
      ]);
      expect(model.producerName, rel).toBe('maas-model-gen');
    }
    expect(files.get('penguins/labels.txt')).toBe('Adelie\nChinstrap\nGentoo\n');
    expect(files.get('penguins/config.json')).toBe(
      '{\n  "max_batch_size": 256,\n  "max_queue_delay_ms": 2,\n  "version_policy": {\n    "latest": 2\n  }\n}\n',
    );
    expect(files.get('mlp/config.json')).toBe('{\n  "max_batch_size": 1024,\n  "max_queue_delay_ms": 2\n}\n');
    expect(files.get('fixed/config.json')).toBe('{}\n');
  });
});

describe.each([
  ['v1 (logistic regression)', 'penguins/1/model.onnx'],
  ['v2 (MLP 4-16-3)', 'penguins/2/model.onnx'],
])('penguins %s', (label, rel) => {
  const data = loadPenguins();
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(rel));
  });

  it('declares features [batch, 4] -> probabilities [batch, 3], label [batch]', () => {
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probabilities', 'label']);
    expect(tensorMeta(session.inputMetadata[0])).toEqual({ name: 'features', type: 'float32', shape: ['batch', 4] });
    expect(tensorMeta(session.outputMetadata[0])).toEqual({
      name: 'probabilities',
      type: 'float32',
      shape: ['batch', 3],
    });
    expect(tensorMeta(session.outputMetadata[1])).toEqual({ name: 'label', type: 'int64', shape: ['batch'] });
  });

  it('classifies the dataset with accuracy >= 0.95 and normalised probabilities', async () => {
    const n = data.x.length;
    const out = await session.run({ features: floatTensor(Float32Array.from(data.x.flat()), [n, 4]) });
    const probs = out['probabilities']!;
    const labels = out['label']!;
    expect(probs.dims).toEqual([n, 3]);
    expect(labels.dims).toEqual([n]);
    expect(labels.type).toBe('int64');
    const p = probs.data as Float32Array;
    const l = labels.data as BigInt64Array;
    for (const s of rowSums(p, 3)) expect(s).toBeCloseTo(1, 5);
    for (let r = 0; r < n; r++) {
      const row = [p[3 * r]!, p[3 * r + 1]!, p[3 * r + 2]!];
      expect(row[Number(l[r])]).toBe(Math.max(...row));
    }
    const acc = accuracy(l, data.y);
    console.log(`penguins ${label}: onnxruntime accuracy ${acc.toFixed(4)} on ${n} rows`);
    expect(acc).toBeGreaterThanOrEqual(0.95);
  });
});

describe('mlp', () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath('mlp/1/model.onnx'));
  });

  function randomInput(rows: number, seed: number): Float32Array {
    const rng = createRng(seed);
    return Float32Array.from({ length: rows * 32 }, () => rng.normal());
  }

  async function run(data: Float32Array, rows: number): Promise<Float32Array> {
    const out = (await session.run({ input: floatTensor(data, [rows, 32]) }))['output']!;
    expect(out.dims).toEqual([rows, 2]);
    return out.data as Float32Array;
  }

  it('declares input [batch, 32] -> output [batch, 2]', () => {
    expect(tensorMeta(session.inputMetadata[0])).toEqual({ name: 'input', type: 'float32', shape: ['batch', 32] });
    expect(tensorMeta(session.outputMetadata[0])).toEqual({ name: 'output', type: 'float32', shape: ['batch', 2] });
  });

  it('accepts batch 1', async () => {
    const out = await run(randomInput(1, 1), 1);
    expect(out[0]! + out[1]!).toBeCloseTo(1, 5);
  });

  it('accepts batch 1000, rows sum to 1, outputs are not degenerate, and match row-by-row runs', async () => {
    const rows = 1000;
    const input = randomInput(rows, 2);
    const batch = await run(input, rows);
    for (const s of rowSums(batch, 2)) expect(s).toBeCloseTo(1, 5);
    // Not a constant 0.5 (zero weights) and not saturated 0/1 everywhere.
    const firstClass = Array.from({ length: rows }, (_, r) => batch[2 * r]!);
    const spread = Math.max(...firstClass) - Math.min(...firstClass);
    expect(spread).toBeGreaterThan(0.2);
    expect(firstClass.filter((v) => v > 0.01 && v < 0.99).length).toBeGreaterThan(rows / 2);
    for (let r = 0; r < rows; r++) {
      const single = await run(input.subarray(32 * r, 32 * (r + 1)), 1);
      expect(Math.abs(single[0]! - batch[2 * r]!)).toBeLessThan(1e-5);
      expect(Math.abs(single[1]! - batch[2 * r + 1]!)).toBeLessThan(1e-5);
    }
  }, 60_000);
});

describe('fixed', () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath('fixed/1/model.onnx'));
  });

  it('declares numeric (non-symbolic) dims', () => {
    expect(tensorMeta(session.inputMetadata[0])).toEqual({ name: 'x', type: 'float32', shape: [2, 3] });
    expect(tensorMeta(session.inputMetadata[1])).toEqual({ name: 'y', type: 'int32', shape: [2, 3] });
    expect(tensorMeta(session.outputMetadata[0])).toEqual({ name: 'sum', type: 'float32', shape: [2, 3] });
  });

  it('computes x + float(y) exactly', async () => {
    const x = Float32Array.from([0.5, -1.25, 3, 1e6, -0.125, 7.75]);
    const y = Int32Array.from([1, 2, -3, 4, 1000000, -7]);
    const out = await session.run({ x: floatTensor(x, [2, 3]), y: new ort.Tensor('int32', y, [2, 3]) });
    const sum = out['sum']!;
    expect(sum.dims).toEqual([2, 3]);
    expect(sum.data).toEqual(Float32Array.from(x, (v, i) => Math.fround(v + y[i]!)));
  });

  it('rejects any other shape', async () => {
    const x = new Float32Array(6);
    const y = new Int32Array(6);
    await expect(
      session.run({ x: floatTensor(x, [3, 2]), y: new ort.Tensor('int32', y, [3, 2]) }),
    ).rejects.toThrow();
    await expect(
      session.run({ x: floatTensor(x, [1, 2, 3]), y: new ort.Tensor('int32', y, [1, 2, 3]) }),
    ).rejects.toThrow();
    const x4 = new Float32Array(12);
    const y4 = new Int32Array(12);
    await expect(
      session.run({ x: floatTensor(x4, [4, 3]), y: new ort.Tensor('int32', y4, [4, 3]) }),
    ).rejects.toThrow();
  });
});
