import { Float16Array, getFloat16 } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { HALF_MAX, halfBits, halfValue } from './half.js';

const bitsOf = (h: number) => new Uint16Array(new Float16Array([h]).buffer)[0]!;

describe('FP16 bits', () => {
  // Mismatches are collected and compared once: an expect a value (200,000 of them, with their
  // messages) took 6-16 s on a loaded CI machine, past the test timeout.
  it('reads every one of the 65,536 halves as @petamoriken/float16 does, and writes each back to its bits', () => {
    const view = new DataView(new ArrayBuffer(2));
    const wrong: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      view.setUint16(0, bits, true);
      const want = getFloat16(view, 0, true);
      const got = halfValue(bits);
      if (Number.isNaN(want)) {
        if (!Number.isNaN(got)) wrong.push(`bits ${bits.toString(16)}: ${got}, not NaN`);
        continue;
      }
      if (!Object.is(got, want)) wrong.push(`bits ${bits.toString(16)}: ${got}, not ${want}`);
      else if (halfBits(got) !== bits) wrong.push(`bits ${bits.toString(16)}: written back as ${halfBits(got).toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds a double to the nearest half, ties to even, as the library does', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = (random() - 0.5) * 2 ** (random() * 40 - 24);
      if (halfBits(v) !== bitsOf(v)) wrong.push(`${v}: ${halfBits(v)}, not ${bitsOf(v)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds from the double, not through float32 (which would make a tie and round it down)', () => {
    const justAboveTie = 1 + 2 ** -11 + 2 ** -40; // float32 rounds it to 1 + 2^-11, a tie between two halves
    expect(halfValue(halfBits(justAboveTie))).toBe(1 + 2 ** -10);
    expect(halfValue(halfBits(1 + 2 ** -11))).toBe(1); // the tie itself: to even
  });

  it('goes to Infinity past the range, keeps signed zero and subnormals, and gives NaN one pattern', () => {
    expect(halfBits(HALF_MAX)).toBe(0x7bff);
    expect(halfBits(65519)).toBe(0x7bff);
    expect(halfBits(65520)).toBe(0x7c00);
    expect(halfBits(-1e9)).toBe(0xfc00);
    expect(halfBits(-0)).toBe(0x8000);
    expect(halfBits(2 ** -24)).toBe(1);
    expect(halfBits(2 ** -26)).toBe(0);
    expect(halfBits(NaN)).toBe(0x7e00);
    expect(halfValue(0x3c00)).toBe(1);
    expect(halfValue(0xc000)).toBe(-2);
  });
});
