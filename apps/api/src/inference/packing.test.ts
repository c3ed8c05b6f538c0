import { tensorOf, toJsonValues, type CheckedRequest } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { mergeRequests, packKey, planPacks } from './packing.js';

const tensor = tensorOf;
const request = (rows: number, base: number, outputs: CheckedRequest['outputs'] = []): CheckedRequest => ({
  rows,
  outputs,
  inputs: [
    tensor('x', 'FP32', [rows, 2], Array.from({ length: rows * 2 }, (_, i) => base + i)),
    tensor('s', 'BYTES', [rows], Array.from({ length: rows }, (_, i) => `${base}-${i}`)),
  ],
});

describe('packKey', () => {
  it('is equal for requests differing only in their number of rows', () => {
    expect(packKey('t', 'm', 1, request(1, 0), undefined)).toBe(packKey('t', 'm', 1, request(5, 9), undefined));
  });

  it('differs by tenant, version, requested outputs, row shape and priority', () => {
    const k = packKey('t', 'm', 1, request(1, 0), undefined);
    expect(packKey('u', 'm', 1, request(1, 0), undefined)).not.toBe(k);
    expect(packKey('t', 'm', 2, request(1, 0), undefined)).not.toBe(k);
    expect(packKey('t', 'm', 1, request(1, 0, [{ name: 'y', parameters: { classification: 2 } }]), undefined)).not.toBe(k);
    expect(packKey('t', 'm', 1, request(1, 0), 5)).not.toBe(k);
    expect(packKey('t', 'm', 1, request(1, 0), 5)).not.toBe(packKey('t', 'm', 1, request(1, 0), 50));
    const wide: CheckedRequest = { rows: 1, outputs: [], inputs: [tensor('x', 'FP32', [1, 3], [1, 2, 3]), tensor('s', 'BYTES', [1], ['a'])] };
    expect(packKey('t', 'm', 1, wide, undefined)).not.toBe(k);
  });
});

describe('planPacks', () => {
  it('fills packs in arrival order up to the cap', () => {
    expect(planPacks([1, 1, 1, 1, 1], 2)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('never passes the cap, and a request of cap rows or more goes alone', () => {
    expect(planPacks([3, 2, 8, 1, 4], 5)).toEqual([[0, 1], [2], [3, 4]]);
  });

  it('keeps everything in one pack when it fits', () => {
    expect(planPacks([1, 2, 3], 64)).toEqual([[0, 1, 2]]);
  });

  it('plans nothing for no requests', () => {
    expect(planPacks([], 4)).toEqual([]);
  });
});

describe('mergeRequests', () => {
  it("joins each input's rows in member order and gives each member its first row", () => {
    const { checked, offsets } = mergeRequests([request(1, 0), request(2, 100), request(1, 200)]);
    expect(offsets).toEqual([0, 1, 3]);
    expect(checked.rows).toBe(4);
    expect(checked.inputs[0]!.shape).toEqual([4, 2]);
    expect(toJsonValues(checked.inputs[0]!)).toEqual([0, 1, 100, 101, 102, 103, 200, 201]);
    expect(checked.inputs[1]!.data).toEqual(['0-0', '100-0', '100-1', '200-0']);
  });

  it('returns a lone member as it is', () => {
    const one = request(3, 0);
    expect(mergeRequests([one]).checked).toBe(one);
  });
});
