import { setFloat16 } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { DATATYPES, DATATYPE_INFO, type Datatype } from '../contract/datatypes.js';
import { encodeValues, type EncodeResult } from './encode.js';
import { exactJson, floatOf } from './exact-integers.js';
import { toJsonValues, type RawTensor } from './raw.js';

const ok = (r: EncodeResult): RawTensor => {
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r.tensor;
};
const fail = (r: EncodeResult): string => {
  if (r.ok) throw new Error('expected a failure');
  return r.message;
};
const bytesOf = (t: RawTensor): Uint8Array => {
  if (Array.isArray(t.data)) throw new Error('expected bytes');
  return t.data;
};
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** datatype → the bytes a little-endian writer produces for `values`, independently of encode.ts */
function littleEndian(datatype: Datatype, values: (number | boolean)[]): number[] {
  const size = DATATYPE_INFO[datatype].bytes;
  const buf = new ArrayBuffer(values.length * size);
  const v = new DataView(buf);
  values.forEach((x, i) => {
    const o = i * size;
    const n = Number(x);
    switch (datatype) {
      case 'BOOL': case 'UINT8': v.setUint8(o, n); break;
      case 'INT8': v.setInt8(o, n); break;
      case 'UINT16': v.setUint16(o, n, true); break;
      case 'INT16': v.setInt16(o, n, true); break;
      case 'UINT32': v.setUint32(o, n, true); break;
      case 'INT32': v.setInt32(o, n, true); break;
      case 'UINT64': v.setBigUint64(o, BigInt(n), true); break;
      case 'INT64': v.setBigInt64(o, BigInt(n), true); break;
      case 'FP16': setFloat16(v, o, n, true); break;
      case 'FP32': v.setFloat32(o, n, true); break;
      case 'FP64': v.setFloat64(o, n, true); break;
      default: throw new Error(datatype);
    }
  });
  return [...new Uint8Array(buf)];
}

const SAMPLES: Record<Exclude<Datatype, 'BYTES'>, (number | boolean)[]> = {
  BOOL: [true, false, true],
  UINT8: [0, 1, 255],
  UINT16: [0, 258, 65535],
  UINT32: [0, 16909060, 4294967295],
  UINT64: [0, 1, Number.MAX_SAFE_INTEGER],
  INT8: [-128, -1, 127],
  INT16: [-32768, -2, 32767],
  INT32: [-2147483648, -3, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, -1, Number.MAX_SAFE_INTEGER],
  FP16: [1.5, -2.25, 65504],
  FP32: [1.5, -2.25, 0],
  FP64: [Math.PI, -1e300, 5e-324],
};

/** FP16 bits as @petamoriken/float16 writes them (independently of half.ts) */
const halfBitsOf = (v: number): number => {
  const view = new DataView(new ArrayBuffer(2));
  setFloat16(view, 0, v, true);
  return view.getUint16(0, true);
};

describe('encodeValues', () => {
  it('covers every datatype of the contract', () => {
    expect(new Set([...Object.keys(SAMPLES), 'BYTES'])).toEqual(new Set(DATATYPES));
  });

  describe.each(Object.keys(SAMPLES) as (keyof typeof SAMPLES)[])('%s', (datatype) => {
    const values = SAMPLES[datatype];

    it('packs values as little-endian bytes of the right size', () => {
      const t = ok(encodeValues('x', datatype, [values.length], values));
      expect(t).toMatchObject({ name: 'x', datatype, shape: [values.length] });
      const bytes = bytesOf(t);
      expect(bytes.byteLength).toBe(values.length * DATATYPE_INFO[datatype].bytes);
      expect([...bytes]).toEqual(littleEndian(datatype, values));
    });

    it('reads back through the typed array of the datatype', () => {
      const bytes = bytesOf(ok(encodeValues('x', datatype, [values.length], values)));
      const Arr = DATATYPE_INFO[datatype].array!;
      const view = new Arr(bytes.buffer, bytes.byteOffset, values.length);
      const expected = values.map((v) =>
        typeof v === 'boolean' ? (v ? 1 : 0) : DATATYPE_INFO[datatype].kind === 'bigint' ? BigInt(v) : datatype === 'FP32' ? Math.fround(v) : datatype === 'FP16' ? halfBitsOf(v) : v,
      );
      expect([...view]).toEqual(expected);
    });

    it('rejects a string with its index', () => {
      const bad = [...values];
      bad.splice(1, 0, '1' as unknown as number);
      const msg = fail(encodeValues('x', datatype, [bad.length], bad));
      expect(msg).toMatch(/^data\[1\] = "1" is not /);
      expect(msg).toContain(`(datatype ${datatype})`);
    });

    it('rejects null and nested arrays', () => {
      expect(fail(encodeValues('x', datatype, [1], [null]))).toMatch(/^data\[0\] = null is not/);
      expect(fail(encodeValues('x', datatype, [2], [values[0], [1]]))).toMatch(/^data\[1\] = an array is not/);
    });

    it('encodes an empty tensor to zero bytes', () => {
      expect(bytesOf(ok(encodeValues('x', datatype, [0, 4], []))).byteLength).toBe(0);
    });
  });

  describe('BOOL', () => {
    it('accepts only true/false, not 0/1', () => {
      expect(fail(encodeValues('b', 'BOOL', [2], [true, 1]))).toBe('data[1] = 1 is not true or false (datatype BOOL)');
      expect(fail(encodeValues('b', 'BOOL', [1], [0]))).toMatch(/^data\[0\] = 0 is not true or false/);
    });
  });

  describe('integer types', () => {
    const bounds: [Datatype, number, number][] = [
      ['UINT8', 0, 255], ['UINT16', 0, 65535], ['UINT32', 0, 4294967295],
      ['INT8', -128, 127], ['INT16', -32768, 32767], ['INT32', -2147483648, 2147483647],
    ];

    it.each(bounds)('%s rejects one past each bound, with the index and the range', (dt, lo, hi) => {
      expect(fail(encodeValues('i', dt, [3], [lo, hi, hi + 1]))).toBe(`data[2] = ${hi + 1} is not an integer in [${lo}, ${hi}] (datatype ${dt})`);
      expect(fail(encodeValues('i', dt, [2], [lo - 1, lo]))).toMatch(/^data\[0\] = .* is not an integer in/);
    });

    it.each(bounds)('%s rejects non-integers (no silent truncation)', (dt) => {
      expect(fail(encodeValues('i', dt, [3], [1, 2, 2.5]))).toMatch(/^data\[2\] = 2.5 is not an integer/);
    });

    it('UINT8 does not wrap 256 to 0 nor -1 to 255', () => {
      expect(encodeValues('i', 'UINT8', [1], [256]).ok).toBe(false);
      expect(encodeValues('i', 'UINT8', [1], [-1]).ok).toBe(false);
    });

    it('rejects Infinity and NaN', () => {
      expect(encodeValues('i', 'INT32', [1], [Infinity]).ok).toBe(false);
      expect(encodeValues('i', 'INT32', [1], [NaN]).ok).toBe(false);
    });

    it('reports the first bad element when there are several', () => {
      expect(fail(encodeValues('i', 'INT8', [4], [1, 200, 1.5, 'x']))).toMatch(/^data\[1\] = 200/);
    });
  });

  describe('64-bit integer types', () => {
    it('INT64 rejects numbers beyond the safe range (they were rounded when read): only BigInts are exact there', () => {
      expect(fail(encodeValues('l', 'INT64', [2], [0, 2 ** 53]))).toBe(`data[1] = ${2 ** 53} is past 2^53 and not written in digits, so it is not exact (datatype INT64)`);
      expect(fail(encodeValues('l', 'INT64', [1], [-(2 ** 53)]))).toMatch(/is past 2\^53/);
    });

    it('INT64 and UINT64 take BigInts exactly over their whole range, and refuse them past it', () => {
      const extremes = [-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, -9007199254740993n];
      const bytes = bytesOf(ok(encodeValues('l', 'INT64', [4], extremes)));
      expect([...new BigInt64Array(bytes.buffer, bytes.byteOffset, 4)]).toEqual(extremes);
      const u = bytesOf(ok(encodeValues('l', 'UINT64', [2], [2n ** 64n - 1n, 7])));
      expect([...new BigUint64Array(u.buffer, u.byteOffset, 2)]).toEqual([2n ** 64n - 1n, 7n]);
      expect(fail(encodeValues('l', 'INT64', [1], [2n ** 63n]))).toBe('data[0] = 9223372036854775808 is not an integer in [-9223372036854775808, 9223372036854775807] (datatype INT64)');
      expect(fail(encodeValues('l', 'UINT64', [1], [2n ** 64n]))).toMatch(/^data\[0\] = 18446744073709551616 is not an integer in \[0, /);
    });

    it('a BigInt is read as JSON.parse reads its digits into other types: a double, or out of an integer type\'s range', () => {
      const f = bytesOf(ok(encodeValues('f', 'FP64', [1], [9007199254740993n])));
      expect(new Float64Array(f.buffer, f.byteOffset, 1)[0]).toBe(9007199254740992);
      expect(fail(encodeValues('i', 'INT32', [1], [9007199254740993n]))).toMatch(/^data\[0\] = 9007199254740993 is not an integer in/);
      expect(fail(encodeValues('b', 'BOOL', [1], [9007199254740993n]))).toMatch(/^data\[0\] = 9007199254740993 is not true or false/);
    });

    it('INT64 and UINT64 reject non-integers', () => {
      expect(fail(encodeValues('l', 'INT64', [1], [0.5]))).toMatch(/^data\[0\] = 0.5 is not an integer in \[/);
      expect(fail(encodeValues('l', 'UINT64', [2], [1, 1.25]))).toMatch(/^data\[1\] = 1.25/);
    });

    it('UINT64 rejects negative values with the range', () => {
      expect(fail(encodeValues('l', 'UINT64', [2], [3, -1]))).toBe('data[1] = -1 is not an integer in [0, 18446744073709551615] (datatype UINT64)');
    });

    it('INT64 stores negative values in two\'s complement', () => {
      const bytes = bytesOf(ok(encodeValues('l', 'INT64', [1], [-2])));
      expect(dv(bytes).getBigInt64(0, true)).toBe(-2n);
      expect([...bytes]).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    });
  });

  describe('float types', () => {
    it('FP32 rounds to single precision', () => {
      const bytes = bytesOf(ok(encodeValues('f', 'FP32', [1], [0.1])));
      expect(dv(bytes).getFloat32(0, true)).toBe(Math.fround(0.1));
    });

    it('FP64 keeps full precision', () => {
      const bytes = bytesOf(ok(encodeValues('f', 'FP64', [1], [0.1])));
      expect(dv(bytes).getFloat64(0, true)).toBe(0.1);
    });

    it('FP32 rejects values it cannot hold (they would become Infinity, then null in JSON)', () => {
      expect(fail(encodeValues('f', 'FP32', [2], [1, 1e39]))).toBe('data[1] = 1e+39 is out of the FP32 range (±3.4028235e38)');
      expect(fail(encodeValues('f', 'FP32', [1], [-3.5e38]))).toMatch(/^data\[0\] = -3.5e\+38 is out of the FP32 range/);
      expect(fail(encodeValues('f', 'FP32', [1], [Infinity]))).toMatch(/out of the FP32 range/);
      // The largest float32 and what rounds to it are fine; so is underflow to 0.
      ok(encodeValues('f', 'FP32', [3], [3.4028234663852886e38, -3.4028235e38, 1e-60]));
    });

    it('FP64 rejects Infinity (JSON.parse makes it of 1e400) and NaN', () => {
      expect(fail(encodeValues('f', 'FP64', [1], [JSON.parse('1e400') as number]))).toMatch(/^data\[0\] = Infinity is out of the FP64 range/);
      expect(fail(encodeValues('f', 'FP64', [1], [NaN]))).toMatch(/out of the FP64 range/);
      ok(encodeValues('f', 'FP64', [1], [1e39]));
    });

    it('FP16 stores the nearest half (ties to even), refuses what rounds past ±65504 and NaN, reads back as numbers', () => {
      const t = ok(encodeValues('f', 'FP16', [5], [0.1, 65519, -1e-8, 1 + 2 ** -11, 2n ** 10n]));
      expect([...new Uint16Array(bytesOf(t).slice().buffer)]).toEqual([0.1, 65519, -1e-8, 1 + 2 ** -11, 1024].map(halfBitsOf));
      expect(toJsonValues(t).map(floatOf)).toEqual([0.0999755859375, 65504, -0, 1, 1024]);
      expect(exactJson(JSON.stringify(toJsonValues(t)))).toBe('[0.0999755859375,65504,-0.0,1,1024]'); // −0 written so (JSON.stringify writes 0)
      expect(fail(encodeValues('f', 'FP16', [2], [1, 65520]))).toBe('data[1] = 65520 is out of the FP16 range (±65504)');
      expect(fail(encodeValues('f', 'FP16', [1], [-1e5]))).toMatch(/^data\[0\] = -100000 is out of the FP16 range/);
      expect(fail(encodeValues('f', 'FP16', [1], [NaN]))).toMatch(/out of the FP16 range/);
    });

    it.each(['FP16', 'FP32', 'FP64'] as const)('%s rejects booleans and strings', (dt) => {
      expect(fail(encodeValues('f', dt, [2], [1, false]))).toBe(`data[1] = false is not a number (datatype ${dt})`);
      expect(fail(encodeValues('f', dt, [1], ['1.0']))).toMatch(/^data\[0\] = "1.0" is not a number/);
    });
  });

  describe('BYTES', () => {
    it('keeps strings as strings (no bytes)', () => {
      const t = ok(encodeValues('s', 'BYTES', [1, 3], ['a', '', 'ünïcode']));
      expect(t).toEqual({ name: 's', datatype: 'BYTES', shape: [1, 3], data: ['a', '', 'ünïcode'] });
    });

    it('rejects non-strings with the index', () => {
      expect(fail(encodeValues('s', 'BYTES', [3], ['a', 'b', 3]))).toBe('data[2] = 3 is not a string (datatype BYTES)');
      expect(fail(encodeValues('s', 'BYTES', [1], [null]))).toMatch(/^data\[0\] = null is not a string/);
    });

    it('rejects a NUL, at which onnxruntime-node would cut the string', () => {
      expect(fail(encodeValues('s', 'BYTES', [2], ['a', 'b\u0000c']))).toMatch(/^data\[1\] holds a NUL character/);
      expect(fail(encodeValues('s', 'BYTES', [2], ['a', 'x\ud800']))).toMatch(/^data\[1\] holds a lone UTF-16 surrogate/);
      expect(encodeValues('s', 'BYTES', [1], ['🙂']).ok).toBe(true);
    });
  });

  describe('error messages', () => {
    it('truncates a long bad value in the message', () => {
      const long = 'y'.repeat(100);
      const msg = fail(encodeValues('n', 'INT32', [1], [long]));
      expect(msg).toContain(`"${'y'.repeat(20)}"`);
      expect(msg).not.toContain('y'.repeat(21));
    });
  });
});
