import { describe, expect, it } from 'vitest';
import { outputTensor, toJsonValues, valuesMade, type OutputTensor, type RawTensor } from '@maas/shared';
import { inPieces, jsonInPieces } from './json-pieces.js';
import { weakEtag } from './send-outputs.js';

const text = async (doc: { outputs: OutputTensor[] | null }) => Buffer.concat((await jsonInPieces(doc))!).toString('utf8');

describe('jsonInPieces', () => {
  it('is byte for byte JSON.stringify of the document, whatever its values and key order', async () => {
    const many = Array.from({ length: 40_000 }, (_, i) => (i % 7 === 0 ? NaN : i % 11 === 0 ? -Infinity : i / 3));
    const doc = {
      id: 'q "1"\n\u0000é',
      outputs: [
        { name: 'f', datatype: 'FP64' as const, shape: [40_000], data: many },
        { name: 'empty', datatype: 'FP32' as const, shape: [0], data: [] },
        { name: 's"', datatype: 'BYTES' as const, shape: [3], data: ['a"b', '\u2028😀', ''] },
        { name: 'b', datatype: 'BOOL' as const, shape: [2], data: [true, false] },
      ],
      model_name: 'm', // after `outputs`: the key order is kept
      parameters: { n: -0 },
    };
    expect(await text(doc)).toBe(JSON.stringify(doc));
    expect(await text({ outputs: null })).toBe(JSON.stringify({ outputs: null }));
    expect(await text({ outputs: [] })).toBe(JSON.stringify({ outputs: [] }));
  });

  it('lets the event loop run between its pieces', async () => {
    const doc = { outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [100_000], data: Array.from({ length: 100_000 }, (_, i) => i / 7) }] };
    expect(inPieces(doc)).toBe(true);
    let settled = false;
    const made = jsonInPieces(doc).then((pieces) => {
      settled = true;
      return pieces;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    const pieces = (await made)!;
    expect(pieces.length).toBeGreaterThan(5);
    expect(Buffer.concat(pieces).toString('utf8')).toBe(JSON.stringify(doc));
  });

  it('stops making pieces once they are no longer wanted (the client left)', async () => {
    const doc = { outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [100_000], data: Array.from({ length: 100_000 }, (_, i) => i / 7) }] };
    let asked = 0;
    expect(await jsonInPieces(doc, () => ++asked < 3)).toBeUndefined();
    expect(asked).toBe(3);
  });

  it('reads outputs made from bytes a piece at a time, never making their whole array of values', async () => {
    const values = Float32Array.from({ length: 70_000 }, (_, i) => (i % 13 === 0 ? NaN : i / 9));
    const raws: RawTensor[] = [
      { name: 'y', datatype: 'FP32', shape: [70_000], data: new Uint8Array(values.buffer) },
      { name: 'k', datatype: 'INT64', shape: [2], data: new Uint8Array(new BigInt64Array([-1n, 5n]).buffer) },
    ];
    const outputs = raws.map(outputTensor);
    const doc = { model_name: 'm', outputs };
    expect(inPieces(doc)).toBe(true);
    const made = await text(doc);
    expect(valuesMade(outputs[0]!)).toBe(false); // the large one: never made whole
    expect(made).toBe(JSON.stringify({ model_name: 'm', outputs: raws.map((r) => ({ name: r.name, datatype: r.datatype, shape: r.shape, data: toJsonValues(r) })) }));
  });

  it('writes exact integers past 2^53 and a float\'s -0 where they stand in a large output (markers), and only there', async () => {
    const floats = Float32Array.from({ length: 70_000 }, (_, i) => i / 9);
    floats[50_000] = -0;
    const raws: RawTensor[] = [
      { name: 'y', datatype: 'FP32', shape: [70_000], data: new Uint8Array(floats.buffer) },
      { name: 'k', datatype: 'INT64', shape: [70_000], data: new Uint8Array(BigInt64Array.from({ length: 70_000 }, (_, i) => (i === 69_999 ? 2n ** 63n - 1n : BigInt(i))).buffer) },
    ];
    const made = await text({ outputs: raws.map(outputTensor) });
    const parsed = JSON.parse(made) as { outputs: { data: number[] }[] };
    expect(made).toContain(',-0.0,'); // as Triton writes it
    expect(made.match(/-0\.0/g)).toHaveLength(1);
    expect(made).toContain(',9223372036854775807]');
    expect(parsed.outputs[0]!.data[49_999]).toBe(floats[49_999]);
    expect(Object.is(parsed.outputs[0]!.data[50_000], -0)).toBe(true);
    expect(made).not.toContain('\\u0001');
  });
});


describe('weakEtag', () => {
  it("is express's own ETag of the joined body", async () => {
    const express = (await import('express')).default;
    const etagOf = express().get('etag fn') as (body: Buffer, encoding?: string) => string;
    const pieces = [Buffer.from('{"outputs":[{"data":[1,'), Buffer.from('2,3'), Buffer.from(']}]}')];
    expect(weakEtag(pieces, pieces.reduce((n, p) => n + p.length, 0))).toBe(etagOf(Buffer.concat(pieces)));
  });
});
