import { describe, expect, it } from 'vitest';
import { scanRowLine as scanBytes, type ScanInput } from './row-scan.js';

const scanRowLine = (text: string, inputs: ScanInput[]) => scanBytes(Buffer.from(text), inputs);

const fp64 = (elements: number, name = 'x'): ScanInput => ({ name, datatype: 'FP64', shape: [1, elements], elements });
const fp32 = (elements: number, name = 'x'): ScanInput => ({ name, datatype: 'FP32', shape: [1, elements], elements });
const values = (data: Uint8Array, datatype: 'FP32' | 'FP64') =>
  Array.from(datatype === 'FP32' ? new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4) : new Float64Array(data.buffer, data.byteOffset, data.byteLength / 8));

/** A deterministic generator of JSON numbers of every shape the grammar allows. */
function* jsonNumbers(count: number, seed = 7): Generator<string> {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
  for (let i = 0; i < count; i++) {
    const int = rnd() < 0.3 ? '0' : String(1 + Math.floor(rnd() * 9)) + digits(Math.floor(rnd() * (rnd() < 0.9 ? 6 : 25)));
    const frac = rnd() < 0.7 ? '.' + digits(1 + Math.floor(rnd() * (rnd() < 0.9 ? 8 : 30))) : '';
    const exp = rnd() < 0.3 ? (rnd() < 0.5 ? 'e' : 'E') + ['', '+', '-'][Math.floor(rnd() * 3)] + String(Math.floor(rnd() * (rnd() < 0.8 ? 30 : 400))) : '';
    yield (rnd() < 0.4 ? '-' : '') + int + frac + exp;
  }
}

describe('scanRowLine', () => {
  it('reads every number exactly as JSON.parse does (20,000 generated numbers, FP64)', () => {
    // Numbers past the FP64 range (JSON.parse: Infinity) are refused; a test below covers them.
    const nums = [...jsonNumbers(20_000)].filter((n) => Number.isFinite(Number(n)));
    for (let i = 0; i < nums.length; i += 100) {
      const batch = nums.slice(i, i + 100);
      const text = `{"inputs":{"x":[${batch.join(',')}]}}`;
      const got = scanRowLine(text, [fp64(batch.length)]);
      expect(got, text).toBeDefined();
      const want = (JSON.parse(text) as { inputs: { x: number[] } }).inputs.x;
      values(got!.inputs[0]!.data as Uint8Array, 'FP64').forEach((v, j) => {
        if (!Object.is(v, want[j])) throw new Error(`${batch[j]}: read ${v}, JSON.parse gives ${want[j]}`);
      });
    }
  });

  it('reads edge cases exactly: zeros, extremes, long mantissas, huge exponents', () => {
    const edge = ['0', '-0', '0.0', '-0.0e0', '1e22', '1e23', '9007199254740993', '9007199254740992', '123456789012345678901234567890',
      '4.9e-324', '5e-325', '2.2250738585072011e-308', '1.7976931348623157e308', '0.1', '0.30000000000000004',
      '1E5', '1e+5', '-1.5E-3', '0.000000000000000000000000001', '1.00000000000000000000000000001'];
    const text = `{"inputs":{"x":[${edge.join(',')}]}}`;
    const got = scanRowLine(text, [fp64(edge.length)])!;
    expect(values(got.inputs[0]!.data as Uint8Array, 'FP64')).toEqual((JSON.parse(text) as { inputs: { x: number[] } }).inputs.x);
  });

  it('a line too long for the slab gets a place of its own, of any length: an odd count of FP32 or INT32 values', () => {
    for (const datatype of ['FP32', 'INT32'] as const) {
      const n = 8193; // 32,772 bytes: over the slab's share, and not a whole number of FP64 elements
      const text = `{"custom_id":"a","inputs":{"x":[${Array.from({ length: n }, (_, i) => i - 4000).join(',')}]}}`;
      const got = scanRowLine(text, [{ name: 'x', datatype, shape: [1, n], elements: n }]);
      expect(got, datatype).toBeDefined();
      const data = got!.inputs[0]!.data as Uint8Array;
      expect(data.byteLength).toBe(4 * n);
      const read = datatype === 'FP32' ? new Float32Array(data.buffer, data.byteOffset, n) : new Int32Array(data.buffer, data.byteOffset, n);
      expect(Array.from(read)).toEqual(Array.from({ length: n }, (_, i) => i - 4000));
    }
  });

  it('FP32 inputs hold the float32 rounding of the value, as the general path stores it', () => {
    const text = '{"custom_id":"a","inputs":{"x":[0.1,-2.5,3.4028235e38,1e-46]}}';
    const got = scanRowLine(text, [fp32(4)])!;
    expect(values(got.inputs[0]!.data as Uint8Array, 'FP32')).toEqual(Array.from(Float32Array.from([0.1, -2.5, 3.4028235e38, 1e-46])));
    expect(got.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: [1, 4] });
  });

  it('FP32 inputs: every number rounds to the float32 of JSON.parse, long mantissas and float32 midpoints included', () => {
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    const nums: string[] = [...jsonNumbers(20_000, 3)];
    for (let i = 0; i < 20_000; i++) {
      const scale = 10 ** (Math.floor(rnd() * 90) - 50);
      const v = (rnd() * 2 - 1) * scale;
      // what programs print: a float32 or a double, shortest round-trip text (17 digits mostly)
      nums.push(JSON.stringify(Math.fround(v)), JSON.stringify(v), v.toPrecision(1 + Math.floor(rnd() * 21)));
      // the hard cases: numbers at or within a hair of the midpoint between two float32s
      bits[0] = Math.floor(rnd() * 0x7f7fffff);
      const below = asFloat[0]!;
      bits[0]++;
      const mid = (below + asFloat[0]!) / 2;
      nums.push(mid.toPrecision(17 + Math.floor(rnd() * 30)), (mid * (1 + (rnd() - 0.5) * 2 ** -50)).toPrecision(21), (mid * (1 + (rnd() - 0.5) * 2 ** -30)).toPrecision(19));
    }
    const finite = nums.filter((n) => Number.isFinite(Math.fround(Number(n))));
    for (let i = 0; i < finite.length; i += 100) {
      const batch = finite.slice(i, i + 100);
      const text = `{"inputs":{"x":[${batch.join(',')}]}}`;
      const got = scanRowLine(text, [fp32(batch.length)]);
      expect(got, text).toBeDefined();
      values(got!.inputs[0]!.data as Uint8Array, 'FP32').forEach((v, j) => {
        const want = Math.fround(Number(batch[j]));
        if (!Object.is(v, want)) throw new Error(`${batch[j]}: read ${v}, the float32 of JSON.parse's ${Number(batch[j])} is ${want}`);
      });
    }
    expect(finite.length).toBeGreaterThan(130_000);
  });

  it('hands values out of range (Infinity once stored) to the general path, which refuses them', () => {
    expect(scanRowLine('{"inputs":{"x":[1,1e39]}}', [fp32(2)])).toBeUndefined();
    expect(scanRowLine('{"inputs":{"x":[-1e39]}}', [fp32(1)])).toBeUndefined();
    expect(scanRowLine('{"inputs":{"x":[1e400]}}', [fp64(1)])).toBeUndefined();
    expect(scanRowLine('{"inputs":{"x":[1e39]}}', [fp64(1)])).toBeDefined();
  });

  it('takes custom_id before or after inputs, whitespace anywhere, several inputs in any order', () => {
    const specs = [fp32(2, 'a'), fp64(1, 'b')];
    for (const text of [
      '{"custom_id":"r1","inputs":{"a":[1,2],"b":[3]}}',
      ' { "inputs" : { "b" : [ 3 ] , "a" : [ 1 , 2 ] } , "custom_id" : "r1" } \r',
      '{\t"inputs":{"a":[1,2],\n"b":[3]},"custom_id":"r1"}',
    ]) {
      const got = scanRowLine(text, specs);
      expect(got, text).toBeDefined();
      expect(got!.customId).toBe('r1');
      expect(got!.inputs.map((t) => t.name)).toEqual(['a', 'b']);
      expect(values(got!.inputs[0]!.data as Uint8Array, 'FP32')).toEqual([1, 2]);
      expect(values(got!.inputs[1]!.data as Uint8Array, 'FP64')).toEqual([3]);
    }
    expect(scanRowLine('{"inputs":{"x":[1]}}', [fp32(1)])!.customId).toBeUndefined();
    expect(scanRowLine('{"custom_id":"zürich 😀","inputs":{"é":[1]}}', [fp32(1, 'é')])!.customId).toBe('zürich 😀');
  });

  it('hands a model of more than 31 inputs to the general path', () => {
    const specs = Array.from({ length: 32 }, (_, i) => fp32(1, `i${i}`));
    expect(scanRowLine(`{"inputs":{${specs.map((s) => `"${s.name}":[1]`).join(',')}}}`, specs)).toBeUndefined();
    expect(scanRowLine(`{"inputs":{${specs.slice(1).map((s) => `"${s.name}":[1]`).join(',')}}}`, specs.slice(1))).toBeDefined();
  });

  it('hands every other line to the general path (undefined)', () => {
    const spec = [fp32(2)];
    for (const text of [
      '', '{}', '[]', '{"inputs":{"x":[1,2]}', '{"inputs":{"x":[1,2]}}x', '{"inputs":{"x":[1,2]}}{}',
      // numbers JSON does not allow
      '{"inputs":{"x":[01,2]}}', '{"inputs":{"x":[.5,2]}}', '{"inputs":{"x":[5.,2]}}', '{"inputs":{"x":[+1,2]}}',
      '{"inputs":{"x":[1e,2]}}', '{"inputs":{"x":[-,2]}}', '{"inputs":{"x":[NaN,2]}}', '{"inputs":{"x":[1,2,]}}', '{"inputs":{"x":[0x1,2]}}',
      // not the compact float form
      '{"inputs":{"x":[1]}}', '{"inputs":{"x":[1,2,3]}}', '{"inputs":{"x":[[1,2]]}}', '{"inputs":{"x":["1",2]}}', '{"inputs":{"x":[true,2]}}',
      '{"inputs":{"x":[null,2]}}', '{"inputs":{"y":[1,2]}}', '{"inputs":{"x":[1,2],"y":[1]}}', '{"inputs":{}}', '{"inputs":[]}',
      '{"custom_id":"a"}', '{"custom_id":7,"inputs":{"x":[1,2]}}', '{"custom_id":null,"inputs":{"x":[1,2]}}', '{"custom_id":"a\\"b","inputs":{"x":[1,2]}}',
      '{"custom_id":"a","custom_id":"b","inputs":{"x":[1,2]}}', '{"inputs":{"x":[1,2]},"inputs":{"x":[1,2]}}',
      '{"inputs":{"x":[1,2]},"extra":1}', '{"inputs":{"x":[1,2],"x":[1,2]}}', '{"inp\\u0075ts":{"x":[1,2]}}', '{"custom_id":"a\u0001","inputs":{"x":[1,2]}}',
    ]) {
      expect(scanRowLine(text, spec), text).toBeUndefined();
    }
  });

  it('a value in another form at any place (spaces, an exponent, 16 digits or more) is read alike, and so are those after it', () => {
    // floats reads the compact form in a first loop and hands the rest, from that value on, to the general one.
    const compact = ['0.1234', '-5', '0', '-0.5', '17.25', '3', '-0', '123456.789'];
    for (const odd of [' 1.5', '1.5 ', '2e3', '-2.5E-2', '1234567890123456789', '0.12345678901234567890123', '1e-30']) {
      for (let k = 0; k < compact.length; k++) {
        const list = compact.map((v, j) => (j === k ? odd : v));
        const text = `{"inputs":{"x":[${list.join(',')}]}}`;
        const got = scanRowLine(text, [fp64(list.length)]);
        expect(got, text).toBeDefined();
        expect(values(got!.inputs[0]!.data as Uint8Array, 'FP64'), text).toEqual((JSON.parse(text) as { inputs: { x: number[] } }).inputs.x);
      }
    }
    for (const bad of ['01', '-', '1.', '.5', '1e', '--1', '1.2.3']) {
      for (let k = 0; k < compact.length; k++) {
        const text = `{"inputs":{"x":[${compact.map((v, j) => (j === k ? bad : v)).join(',')}]}}`;
        expect(scanRowLine(text, [fp64(compact.length)]), text).toBeUndefined();
      }
    }
  });

  it('reads fractions of every length exactly, and a byte that is not a digit at any place of one as JSON.parse does', () => {
    for (let digits = 0; digits <= 13; digits++) {
      const frac = '7031962845139'.slice(0, digits);
      for (const lead of ['0', '-3', '12']) {
        const value = digits === 0 ? lead : `${lead}.${frac}`;
        const text = `{"inputs":{"x":[${value},${value}]}}`;
        const got = scanRowLine(text, [fp64(2)]);
        expect(got, text).toBeDefined();
        expect(values(got!.inputs[0]!.data as Uint8Array, 'FP64'), text).toEqual([Number(value), Number(value)]);
      }
    }
    // a byte that is not a digit at each place of a fraction, where JSON allows one or not
    for (const odd of [',', ']', ' ', '/', ':', 'e', 'E', '.', '-', '+', 'a', '\u00ff', '\u0000']) {
      for (let at = 0; at < 9; at++) {
        const fraction = '12345678'.split('');
        fraction.splice(at, 1, odd);
        const text = `{"inputs":{"x":[0.${fraction.join('')},1]}}`;
        let want: number[] | undefined;
        try {
          const x = (JSON.parse(text) as { inputs: { x: unknown[] } }).inputs.x;
          if (x.length === 2 && x.every((v) => Number.isFinite(v))) want = x as number[]; // Infinity (1e345678) is refused too
        } catch { /* not JSON: refused */ }
        const got = scanRowLine(text, [fp64(2)]);
        expect(got && values(got.inputs[0]!.data as Uint8Array, 'FP64'), text).toEqual(want);
      }
    }
  });

  it('ends a line cut inside its numbers, with digits after it in the same buffer, as not compact', () => {
    // The scanner reads no bounds a byte: past a line's end reads as 0, which no rule accepts.
    const spec = [fp32(2)];
    for (const cut of ['{"inputs":{"x":[1,2', '{"inputs":{"x":[1,-', '{"inputs":{"x":[1,2.', '{"inputs":{"x":[1,2.12', '{"inputs":{"x":[1,2.1234', '{"inputs":{"x":[1,2.5e', '{"inputs":{"x":[1,2e-', '{"inputs":{"x":[1,0', '{"inputs":{"x":[1, ', '{"inputs":{"x":[1,']) {
      const upload = Buffer.from(`${cut}1234567890]}}\n`);
      expect(scanBytes(upload.subarray(0, cut.length), spec), cut).toBeUndefined();
    }
    // Read in place, as uploads' lines are: the next line's bytes follow in the same buffer.
    const body = Buffer.from('{"custom_id":"a","inputs":{"x":[1,2\n,3]}}\n{"custom_id":"b","inputs":{"x":[4, 5 ]}}\r\n');
    const cut = body.indexOf('\n');
    expect(scanBytes(body, [fp32(3)], 0, cut)).toBeUndefined(); // its numbers would run on into the next line
    const b = body.indexOf('{"custom_id":"b"');
    const second = scanBytes(body, [fp32(2)], b, body.length - 2)!;
    expect(second.customId).toBe('b');
    expect(values(second.inputs[0]!.data as Uint8Array, 'FP32')).toEqual([4, 5]);
    expect(scanBytes(body, [fp32(2)], b, body.length - 3)).toBeUndefined(); // cut before its last brace
    const whole = Buffer.from('{"inputs":{"x":[1,25]}}99');
    expect(values(scanBytes(whole.subarray(0, whole.length - 2), spec)!.inputs[0]!.data as Uint8Array, 'FP32')).toEqual([1, 25]);
  });
});

describe('scanRowLine values in shared slabs', () => {
  it('each line keeps its own values, exactly its bytes, across many lines and slabs', () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => Array.from({ length: 32 }, (_, j) => i + j / 64));
    const scanned = lines.map((v, i) => scanRowLine(`{"custom_id":"r${i}","inputs":{"x":[${v.join(',')}]}}`, [i % 2 ? fp32(32) : fp64(32)])!);
    scanned.forEach((line, i) => {
      const data = line.inputs[0]!.data as Uint8Array;
      expect(data.byteLength).toBe(i % 2 ? 128 : 256);
      expect(values(data, i % 2 ? 'FP32' : 'FP64')).toEqual(lines[i]);
    });
    // A line the scanner gives up on midway leaves the lines before it as they were.
    expect(scanRowLine('{"inputs":{"x":[1,2,"no"]}}', [fp32(3)])).toBeUndefined();
    expect(values(scanned[4_999]!.inputs[0]!.data as Uint8Array, 'FP32')).toEqual(lines[4_999]);
  });
});

describe('scanRowLine: the tensor form', () => {
  const specs = [fp32(3, 'a'), fp64(2, 'b')];
  const t = (name: string, datatype: string, shape: string, data: string) => `{"name":"${name}","datatype":"${datatype}","shape":${shape},"data":${data}}`;

  it('reads each input once, in any order, keys in any order, and says so', () => {
    const got = scanRowLine(`{"custom_id":"x","inputs":[${t('b', 'FP64', '[1,2]', '[0.1,2]')}, {"shape":[ 1 ,3 ],"name":"a","data":[1,2.5,-3],"datatype":"FP32"}]}`, specs)!;
    expect(got.compact).toBe(false);
    expect(got.customId).toBe('x');
    expect(values(got.inputs[0]!.data as Uint8Array, 'FP32')).toEqual([1, 2.5, -3]);
    expect(values(got.inputs[1]!.data as Uint8Array, 'FP64')).toEqual([0.1, 2]);
    expect(scanRowLine('{"inputs":{"a":[1,2,3],"b":[1,2]}}', specs)!.compact).toBe(true);
  });

  it('reads several rows when every input has them', () => {
    const got = scanRowLine(`{"inputs":[${t('b', 'FP64', '[3,2]', '[1,2,3,4,5,6]')},{"name":"a","shape":[3,3],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9.5]}]}`, specs)!;
    expect(got).toMatchObject({ rows: 3, compact: false });
    expect(got.inputs.map((x) => x.shape)).toEqual([[3, 3], [3, 2]]);
    expect(values(got.inputs[0]!.data as Uint8Array, 'FP32')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9.5]);
    expect(values(got.inputs[1]!.data as Uint8Array, 'FP64')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('hands every other tensor line to the general path', () => {
    const a = t('a', 'FP32', '[1,3]', '[1,2,3]');
    const b = t('b', 'FP64', '[1,2]', '[1,2]');
    for (const inputs of [
      `[${a}]`, // b missing
      `[${a},${b},${a}]`, // one too many
      `[${a},${a}]`, // a twice
      `[${t('a', 'FP64', '[1,3]', '[1,2,3]')},${b}]`, // a's datatype
      `[${t('a', 'FP32', '[2,3]', '[1,2,3,4,5,6]')},${b}]`, // two rows, and one
      `[${t('a', 'FP32', '[2,3]', '[1,2,3]')},${t('b', 'FP64', '[2,2]', '[1,2,3,4]')}]`, // two rows, three values
      `[{"name":"a","datatype":"FP32","data":[1,2,3,4,5,6],"shape":[2,3]},${t('b', 'FP64', '[2,2]', '[1,2,3,4]')}]`, // data before the first shape: one row
      `[${t('a', 'FP32', '[0,3]', '[]')},${t('b', 'FP64', '[0,2]', '[]')}]`, // no rows
      `[${t('a', 'FP32', '[1,3,1]', '[1,2,3]')},${b}]`, // dimensions
      `[${t('a', 'FP32', '[01,3]', '[1,2,3]')},${b}]`, // a leading zero (not JSON)
      `[${t('a', 'FP32', '[1.0,3]', '[1,2,3]')},${b}]`, // a fraction: JSON.parse reads it, we do not
      `[${t('a', 'FP32', '[1,3]', '[[1,2,3]]')},${b}]`, // nested data
      `[${t('a', 'FP32', '[1,3]', '[1,2,3,4]')},${b}]`, // a value too many
      `[{"data":[1,2,3],"name":"a","datatype":"FP32","shape":[1,3]},${b}]`, // data before name
      `[{"name":"a","name":"a","datatype":"FP32","shape":[1,3],"data":[1,2,3]},${b}]`, // a key twice
      `[{"name":"a","datatype":"FP32","shape":[1,3],"data":[1,2,3],"parameters":{}},${b}]`, // another key
      `[{"name":"a","datatype":"FP\\u0033\\u0032","shape":[1,3],"data":[1,2,3]},${b}]`, // an escape
      `[{"name":"a","datatype":"FP32","data":[1,2,3]},${b}]`, // no shape
      `[]`,
    ]) {
      const text = `{"custom_id":"x","inputs":${inputs}}`;
      expect(scanRowLine(text, specs), text).toBeUndefined();
    }
  });
});

describe('scanRowLine: integer inputs (INT32, INT64)', () => {
  const int = (datatype: 'INT32' | 'INT64', elements: number, name = 'x'): ScanInput => ({ name, datatype, shape: [1, elements], elements });
  const read = (data: Uint8Array, datatype: 'INT32' | 'INT64') =>
    datatype === 'INT32' ? Array.from(new Int32Array(data.buffer, data.byteOffset, data.byteLength / 4)) : Array.from(new BigInt64Array(data.buffer, data.byteOffset, data.byteLength / 8));

  it('reads integers of up to 15 digits, either sign, spaces around commas, into the bytes the general path stores', () => {
    let s = 11;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const datatype of ['INT32', 'INT64'] as const) {
      const digits = datatype === 'INT32' ? 9 : 15;
      for (let line = 0; line < 200; line++) {
        const nums = Array.from({ length: 50 }, () => {
          const n = Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * digits)));
          return rnd() < 0.4 ? -n : n;
        });
        const text = `{"custom_id":"r${line}","inputs":{"ids":[${nums.join(rnd() < 0.5 ? ',' : ', ')}]}}`;
        const got = scanRowLine(text, [int(datatype, nums.length, 'ids')]);
        expect(got, text).toBeDefined();
        expect(read(got!.inputs[0]!.data as Uint8Array, datatype), text).toEqual(nums.map((n) => (datatype === 'INT32' ? n + 0 : BigInt(n)))); // + 0: -0 is stored as 0
      }
    }
    const edges = [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) + 1, 999_999_999_999_999, -999_999_999_999_999];
    const got = scanRowLine(`{"inputs":{"x":[${edges.map(String).join(',')}]}}`, [int('INT64', edges.length)]);
    expect(read(got!.inputs[0]!.data as Uint8Array, 'INT64')).toEqual(edges.map((n) => BigInt(n)));
    const int32 = scanRowLine('{"inputs":{"x":[2147483647,-2147483648, 0]}}', [int('INT32', 3)]);
    expect(read(int32!.inputs[0]!.data as Uint8Array, 'INT32')).toEqual([2147483647, -2147483648, 0]);
  });

  it('reads INT64s of 16 to 19 digits (hashed ids) exactly, up to the extremes, beside short ones', () => {
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const digit = () => Math.floor(rnd() * 10);
    for (let line = 0; line < 100; line++) {
      const nums = Array.from({ length: 20 }, (_, k) => {
        if (k % 4 === 0) return BigInt(Math.floor(rnd() * 1000));
        const text = String(1 + Math.floor(rnd() * 8)) + Array.from({ length: 15 + Math.floor(rnd() * 3) }, digit).join(''); // 16 to 18 digits, under 2^63
        return rnd() < 0.5 ? -BigInt(text) : BigInt(text);
      });
      const text = `{"inputs":{"ids":[${nums.join(', ')}]}}`;
      const got = scanRowLine(text, [int('INT64', nums.length, 'ids')]);
      expect(got, text).toBeDefined();
      expect(read(got!.inputs[0]!.data as Uint8Array, 'INT64'), text).toEqual(nums);
    }
    const edges = [-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, -9007199254740993n, 1000000000000000n, 2n ** 32n * 2n ** 22n + 1n];
    const got = scanRowLine(`{"inputs":{"x":[${edges.join(',')}]}}`, [int('INT64', edges.length)]);
    expect(read(got!.inputs[0]!.data as Uint8Array, 'INT64')).toEqual(edges);
  });

  it('hands fractions, exponents, long numbers, INT32s out of range and bad JSON to the general path, at any place', () => {
    const good = ['1', '-20', '0', '300', '-4'];
    for (const [datatype, odd] of [
      ['INT32', '1.0'], ['INT32', '1.5'], ['INT32', '1e2'], ['INT32', '2E1'], ['INT32', '2147483648'], ['INT32', '-2147483649'],
      ['INT64', '1.0'], ['INT64', '1e3'], ['INT64', '12345678901234567890'], ['INT64', '9223372036854775808'], ['INT64', '-9223372036854775809'],
      ['INT64', '123456789012345678901'], ['INT64', '1234567890123456.5'], ['INT64', '1234567890123456e2'], ['INT64', '00000000000000001'],
      ['INT64', '01'], ['INT64', '-'], ['INT64', '+1'], ['INT64', '--1'], ['INT64', '"1"'], ['INT64', 'true'], ['INT64', '1.'], ['INT64', ''],
    ] as const) {
      for (let k = 0; k < good.length; k++) {
        const text = `{"inputs":{"x":[${good.map((v, j) => (j === k ? odd : v)).join(',')}]}}`;
        expect(scanRowLine(text, [int(datatype, good.length)]), text).toBeUndefined();
      }
    }
  });

  it('reads the tensor form, several rows, with float inputs beside, and ends a line cut inside its numbers', () => {
    const spec = [int('INT64', 3, 'ids'), int('INT32', 3, 'mask'), fp32(1, 'f')];
    const text = '{"custom_id":"t","inputs":[{"name":"mask","datatype":"INT32","shape":[2,3],"data":[1,1,0,1,0,0]},'
      + '{"name":"ids","datatype":"INT64","shape":[2,3],"data":[101,-2023,4000000000000,7,8,9]},{"name":"f","datatype":"FP32","shape":[2,1],"data":[0.5,1.5]}]}';
    const got = scanBytes(Buffer.from(text), spec);
    expect(got).toMatchObject({ customId: 't', rows: 2, compact: false });
    expect(read(got!.inputs[0]!.data as Uint8Array, 'INT64')).toEqual([101n, -2023n, 4000000000000n, 7n, 8n, 9n]);
    expect(read(got!.inputs[1]!.data as Uint8Array, 'INT32')).toEqual([1, 1, 0, 1, 0, 0]);
    expect(values(got!.inputs[2]!.data as Uint8Array, 'FP32')).toEqual([0.5, 1.5]);
    expect(scanBytes(Buffer.from(text.replace('"INT32"', '"INT64"')), spec)).toBeUndefined(); // not the model's datatype
    for (const cut of ['{"inputs":{"x":[1,2', '{"inputs":{"x":[1,-', '{"inputs":{"x":[1,0', '{"inputs":{"x":[1, ']) {
      const upload = Buffer.from(`${cut}1234567890]}}\n`);
      expect(scanBytes(upload.subarray(0, cut.length), [int('INT64', 2)]), cut).toBeUndefined();
    }
  });
});
