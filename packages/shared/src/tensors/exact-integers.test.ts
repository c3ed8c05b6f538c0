import { describe, expect, it } from 'vitest';
import { exactFloat, exactInteger, exactJson, floatOf, integerOf } from './exact-integers.js';

describe('exactInteger / exactJson', () => {
  it('values within 2^53 stay numbers; past it they are written as their digits', () => {
    expect(exactInteger(9007199254740991n)).toBe(9007199254740991);
    expect(exactInteger(-9007199254740991n)).toBe(-9007199254740991);
    expect(typeof exactInteger(9007199254740992n)).toBe('string');
    const doc = { outputs: [{ name: 'ids', data: [exactInteger(2n ** 63n - 1n), 1, exactInteger(-(2n ** 63n))] }], note: 'x' };
    expect(exactJson(JSON.stringify(doc))).toBe('{"outputs":[{"name":"ids","data":[9223372036854775807,1,-9223372036854775808]}],"note":"x"}');
  });

  it('text without a marker is returned as it is, and a string a client could send is never taken for one', () => {
    const text = JSON.stringify({ s: '\u0001abc:123', t: '\\u0001:5', n: 2 ** 64 });
    expect(exactJson(text)).toBe(text);
  });

  it('integerOf reads a marker exactly, and a number as the integer it holds', () => {
    expect(integerOf(exactInteger(18446744073709551615n))).toBe(18446744073709551615n);
    expect(integerOf(42)).toBe(42n);
    expect(integerOf(-3.7)).toBe(-3n);
  });

  it('a float\'s −0 is written -0.0 (JSON.stringify writes 0, which a client reads as +0), every other number as JSON.stringify writes it', () => {
    const data = [exactFloat(-0), exactFloat(0), exactFloat(-1e-45), exactFloat(-1.5), exactFloat(NaN)];
    expect(exactJson(JSON.stringify({ data }))).toBe('{"data":[-0.0,0,-1e-45,-1.5,null]}');
    expect(Object.is(JSON.parse(exactJson(JSON.stringify(data)))[0], -0)).toBe(true);
    expect(data.map(floatOf)).toEqual([-0, 0, -1e-45, -1.5, NaN]);
    expect(Object.is(floatOf(exactFloat(-0)), -0)).toBe(true);
  });
});
