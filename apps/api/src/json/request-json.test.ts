import { describe, expect, it } from 'vitest';
import { pastSafeIntegers, readRequestJson, readTensorDataJson, withExactIntegers } from './request-json.js';

describe('pastSafeIntegers', () => {
  it('finds a number of magnitude 2^53 or more in tensor values, nested or not, in either form', () => {
    for (const body of [
      { inputs: [{ data: [1, 2 ** 53] }] }, { inputs: [{ data: [[1], [-(2 ** 63)]] }] }, { inputs: { ids: [3, 1e17] } }, { inputs: [{ data: [1] }, { data: [2 ** 64] }] },
    ]) {
      expect(pastSafeIntegers(body), JSON.stringify(body)).toBe(true);
    }
  });
  it('looks nowhere else, and past no safe integer', () => {
    for (const body of [
      { inputs: [{ data: [2 ** 53 - 1, -(2 ** 53 - 1), 0.5] }] }, { id: 2 ** 60, inputs: [{ shape: [2 ** 60], data: [1] }] }, { inputs: { ids: [1] }, metadata: { x: 2 ** 60 } }, null, [2 ** 60], { inputs: 'x' },
    ]) {
      expect(pastSafeIntegers(body), JSON.stringify(body)).toBe(false);
    }
  });
  it('walks values nested 100,000 deep without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`) as unknown;
    expect(pastSafeIntegers({ inputs: [{ data: deep }] })).toBe(false);
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

  it('a body whose tensor values hold no number past 2^53 is JSON.parse\'s reading, its text never made; one nesting too deep is left to the depth check', () => {
    const parsed = { inputs: [{ data: [1] }], metadata: { n: 2 ** 64 } };
    expect(withExactIntegers(parsed, () => { throw new Error('text made'); })).toBe(parsed);
    const deep = `{"inputs":[{"data":${'['.repeat(200)}12345678901234567890${']'.repeat(200)}}]}`;
    const once = JSON.parse(deep) as unknown;
    expect(withExactIntegers(once, () => deep)).toBe(once);
  });

  it('a tensor\'s data alone: every integer past 2^53 exact, whatever its datatype', () => {
    expect(readTensorDataJson('[1,9007199254740993,[18446744073709551615]]')).toEqual([1, 9007199254740993n, [18446744073709551615n]]);
    const plain = readTensorDataJson('[1.5,2]');
    expect(plain).toEqual([1.5, 2]);
    expect(readTensorDataJson('[1e17, 100000000000000000.5]')).toEqual([1e17, 100000000000000000]);
  });
});
