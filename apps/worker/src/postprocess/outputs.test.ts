import { tensorOf, toJsonValues } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { joinParts, memberPieces, memberRanges, selectOutputs, withoutRows } from './outputs.js';

const tensor = tensorOf;

describe('joinParts', () => {
  const part = (start: number, probs: number[], labels: number[]) => ({
    start,
    outputs: [tensor('probs', 'FP32', [labels.length, 2], probs), tensor('label', 'INT64', [labels.length], labels)],
  });

  it('joins parts in order of their start row, whatever order they arrive in', () => {
    const joined = joinParts([part(3, [7, 8], [3]), part(0, [1, 2, 3, 4, 5, 6], [0, 1, 2]), part(4, [9, 10, 11, 12], [4, 5])]);
    expect(joined.map((t) => [t.name, t.shape])).toEqual([['probs', [6, 2]], ['label', [6]]]);
    expect(toJsonValues(joined[0]!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(toJsonValues(joined[1]!)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a single part is returned unchanged', () => {
    const p = part(0, [1, 2], [0]);
    expect(joinParts([p])).toEqual(p.outputs);
  });

  it('no parts, no outputs', () => {
    expect(joinParts([])).toEqual([]);
  });

  it('does not reorder the caller\'s array', () => {
    const parts = [part(2, [1, 2], [2]), part(0, [3, 4, 5, 6], [0, 1])];
    joinParts(parts);
    expect(parts.map((p) => p.start)).toEqual([2, 0]);
  });

  it('joins BYTES outputs', () => {
    const joined = joinParts([
      { start: 1, outputs: [tensor('s', 'BYTES', [1], ['second'])] },
      { start: 0, outputs: [tensor('s', 'BYTES', [1], ['first'])] },
    ]);
    expect(joined).toEqual([{ name: 's', datatype: 'BYTES', shape: [2], data: ['first', 'second'] }]);
  });
});

describe('selectOutputs', () => {
  const all = [tensor('probs', 'FP32', [2, 3], [0.25, 0.5, 0.25, 0.75, 0.125, 0.125]), tensor('label', 'INT64', [2], [1, 0])];

  it('returns every output when none is requested', () => {
    expect(selectOutputs(all, [], undefined)).toBe(all);
  });

  it('keeps only the requested outputs, in the requested order', () => {
    expect(selectOutputs(all, [{ name: 'label' }], undefined)).toEqual([all[1]]);
    expect(selectOutputs(all, [{ name: 'label' }, { name: 'probs' }], undefined).map((t) => t.name)).toEqual(['label', 'probs']);
  });

  it('applies classification where asked, with labels', () => {
    const out = selectOutputs(all, [{ name: 'probs', parameters: { classification: 2 } }, { name: 'label' }], ['a', 'b', 'c']);
    expect(out[0]).toEqual({ name: 'probs', datatype: 'BYTES', shape: [2, 2], data: ['0.500000:1:b', '0.250000:0:a', '0.750000:0:a', '0.125000:1:b'] });
    expect(out[1]).toBe(all[1]);
  });

  it('empty parameters mean no classification', () => {
    expect(selectOutputs(all, [{ name: 'probs', parameters: {} }], undefined)).toEqual([all[0]]);
  });

  it('throws when the model did not produce a requested output', () => {
    expect(() => selectOutputs(all, [{ name: 'missing' }], undefined)).toThrow("model produced no output 'missing'");
  });
});

describe('members of a carrier', () => {
  const members = [{ id: 'a', rows: 2 }, { id: 'b', rows: 3 }, { id: 'c', rows: 1 }];

  it('memberPieces: the members a row range holds, each with its part of it', () => {
    expect(memberPieces(members, 0, 6).map((p) => [p.member.id, p.start, p.end])).toEqual([['a', 0, 2], ['b', 2, 5], ['c', 5, 6]]);
    expect(memberPieces(members, 1, 3).map((p) => [p.member.id, p.start, p.end])).toEqual([['a', 1, 2], ['b', 2, 3]]);
    expect(memberPieces(members, 3, 4).map((p) => [p.member.id, p.start, p.end])).toEqual([['b', 3, 4]]);
  });

  it('withoutRows: the parts without the failed members\' rows, a part that straddles them cut around them', () => {
    const part = (start: number, labels: number[]) => ({ start, outputs: [tensor('label', 'INT64', [labels.length], labels)] });
    // rows 0..5 in two runs: [0, 4) and [4, 6); member b (rows 2..4) failed
    const kept = withoutRows([part(0, [0, 1, 2, 3]), part(4, [4, 5])], memberRanges(members, new Set(['b'])));
    expect(kept.map((p) => [p.start, toJsonValues(p.outputs[0]!)])).toEqual([[0, [0, 1]], [5, [5]]]);
    expect(toJsonValues(joinParts(kept)[0]!)).toEqual([0, 1, 5]);
    expect(withoutRows([part(0, [0, 1, 2])], [])).toEqual([part(0, [0, 1, 2])]);
  });
});
