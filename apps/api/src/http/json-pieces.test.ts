import { describe, expect, it } from 'vitest';
import { outputTensor, toJsonValues, valuesMade, type OutputTensor, type RawTensor } from '@maas/shared';
import { inPieces, jsonInPieces } from './json-pieces.js';

const text = async (doc: { outputs: OutputTensor[] | null }) => Buffer.concat(await jsonInPieces(doc)).toString('utf8');

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
    const pieces = await made;
    expect(pieces.length).toBeGreaterThan(5);
    expect(Buffer.concat(pieces).toString('utf8')).toBe(JSON.stringify(doc));
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
});
