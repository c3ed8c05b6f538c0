import { describe, expect, it } from 'vitest';
import { hasLongInteger, readRequestJson, withExactIntegers } from './request-json.js';

describe('hasLongInteger', () => {
  it('finds an integer token of 16 digits or more, signed or not, anywhere', () => {
    for (const t of ['[9007199254740993]', '{"a":-9223372036854775808}', '[1, 18446744073709551615 ]', '9007199254740993', '{"s":"1234567890123456"}']) {
      expect(hasLongInteger(t), t).toBe(true);
    }
  });

  it('passes over shorter integers, fractions and exponents however many digits they have', () => {
    for (const t of ['[900719925474099]', '[0.12345678901234567]', '[1.5e1234567890123456]', '[1e-1234567890123456]', '[12345678901234567.5]', '[12345678901234567e3]', '[1E+1234567890123456]']) {
      expect(hasLongInteger(t), t).toBe(false);
    }
  });
});

describe('readRequestJson', () => {
  it('keeps integers past 2^53 in tensor values exact, as BigInts, nested lists included', () => {
    const body = readRequestJson('{"inputs":[{"name":"ids","datatype":"INT64","shape":[2,2],"data":[[9223372036854775807,1],[-9007199254740993,2]]}]}') as {
      inputs: { data: unknown[][] }[];
    };
    expect(body.inputs[0]!.data).toEqual([[9223372036854775807n, 1], [-9007199254740993n, 2]]);
  });

  it('a batch file\'s compact line: each input\'s row values', () => {
    expect(readRequestJson('{"custom_id":"a","inputs":{"ids":[18446744073709551615,3]}}')).toEqual({ custom_id: 'a', inputs: { ids: [18446744073709551615n, 3] } });
  });

  it('everywhere else such an integer is the number JSON.parse makes of it (nothing downstream meets a BigInt)', () => {
    const text = '{"id":"r","custom_id":12345678901234567890,"parameters":{"seed":9007199254740993,"list":[9007199254740993]},"metadata":{"k":[12345678901234567890]},'
      + '"inputs":[{"name":"x","datatype":"INT64","shape":[1,12345678901234567890],"parameters":{"p":9007199254740993},"data":[9007199254740993]}],"outputs":[{"name":"y","parameters":{"k":12345678901234567890}}]}';
    const exact = readRequestJson(text) as Record<string, unknown> & { inputs: Record<string, unknown>[] };
    const parsed = JSON.parse(text) as Record<string, unknown> & { inputs: Record<string, unknown>[] };
    expect(exact.inputs[0]!['data']).toEqual([9007199254740993n]);
    exact.inputs[0]!['data'] = parsed.inputs[0]!['data'];
    expect(exact).toEqual(parsed);
    expect(() => JSON.stringify(exact)).not.toThrow();
  });

  it('reads as JSON.parse does otherwise: floats, duplicate keys (the last counts), __proto__ as a key, errors', () => {
    const text = '{"a":0.12345678901234567,"a":[1e400,-0,12345678901234567890],"__proto__":{"x":1},"inputs":[{"data":[1.5,9007199254740993.5]}]}';
    const exact = readRequestJson(text) as Record<string, unknown>;
    expect(exact).toEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(exact)).toBe(Object.prototype);
    expect(Object.keys(exact)).toContain('__proto__');
    expect(() => readRequestJson('{"a":12345678901234567890,}')).toThrow(SyntaxError);
  });

  it('text with no long integer is JSON.parse\'s reading, untouched; one nesting too deep is left to the depth check', () => {
    const parsed = { inputs: [{ data: [1] }] };
    expect(withExactIntegers('{"inputs":[{"data":[1]}]}', parsed)).toBe(parsed);
    const deep = `${'['.repeat(200)}12345678901234567890${']'.repeat(200)}`;
    const once = JSON.parse(deep) as unknown;
    expect(withExactIntegers(deep, once)).toBe(once);
  });
});
