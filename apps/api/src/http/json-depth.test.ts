import { assert, describe, expect, it } from 'vitest';
import { bytesNestDeeperThan, DEPTH_SCAN_MIN_BYTES, MAX_JSON_DEPTH, nestsDeeperThan, tooDeepToParse } from './json-depth.js';

const nested = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('nestsDeeperThan', () => {
  it('counts arrays and objects alike, scalars as nothing', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan([], 1)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan({ a: [{ b: [1] }] }, 4)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: [1] }] }, 3)).toBe(true);
  });

  it('measures 100,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan(nested(100_000), 64)).toBe(true);
    expect(nestsDeeperThan({ inputs: [{ data: nested(64) }] }, 64)).toBe(true);
    expect(nestsDeeperThan({ inputs: [{ data: nested(8) }] }, 64)).toBe(false);
  });

  it('takes bytes for a leaf (a binary tensor\'s data is not walked)', () => {
    expect(nestsDeeperThan({ inputs: [{ data: new Uint8Array(1 << 20) }] }, 3)).toBe(false);
  });

  it('finds a deep branch beside wide shallow ones', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => (i === 9_999 ? nested(100) : [i]));
    expect(nestsDeeperThan(wide, 64)).toBe(true);
  });
});

describe('bytesNestDeeperThan and tooDeepToParse (before parsing)', () => {
  const both = (json: string, max: number) => bytesNestDeeperThan(Buffer.from(json), max);

  it('agree with the parsed value on depth, arrays and objects alike', () => {
    for (const json of ['1', '[]', '{"a":[1,[2]]}', '[[[[]]]]', '{"a":{"b":{"c":{}}}}', '[[],[[]],[]]']) {
      for (const max of [0, 1, 2, 3, 4]) expect(both(json, max), `${json} ${max}`).toBe(nestsDeeperThan(JSON.parse(json), max));
    }
  });

  it('skip brackets inside strings, escaped quotes included', () => {
    expect(both('{"a":"[[[[[[","b":"\\"[[[[","c":[1]}', 2)).toBe(false);
    expect(both('["\\\\",[[1]]]', 2)).toBe(true); // an escaped backslash ends the string before the next quote
  });

  it('stop at the first bracket too many', () => {
    // Reading stops at byte 65: what follows is never looked at (here, bytes a typed array refuses to give).
    const deep = new Proxy(Buffer.alloc(31_000_000, '['), { get: (t, k) => (typeof k === 'string' && /^\d+$/.test(k) && Number(k) > MAX_JSON_DEPTH ? assert.fail(`read byte ${k}`) : Reflect.get(t, k)) });
    expect(bytesNestDeeperThan(deep, MAX_JSON_DEPTH)).toBe(true);
    expect(bytesNestDeeperThan(Buffer.from(`${'['.repeat(64)}${']'.repeat(64)}`))).toBe(false);
    expect(bytesNestDeeperThan(Buffer.from(`${'['.repeat(65)}${']'.repeat(65)}`))).toBe(true);
  });

  it("tooDeepToParse: text and bytes alike from DEPTH_SCAN_MIN_BYTES on; under it not read (the parsed value's depth is checked instead)", () => {
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    const pad = (json: string) => `{"pad":"${'é'.repeat(DEPTH_SCAN_MIN_BYTES)}","x":${json}}`; // the object is a level: 65 inside it is 66, 63 is 64
    for (const [json, expected] of [[deep, false], [pad(deep), true], [pad(deep.slice(2, -2)), false]] as const) {
      expect(tooDeepToParse(json), json.slice(-140)).toBe(expected);
      expect(tooDeepToParse(Buffer.from(json)), json.slice(-140)).toBe(expected);
    }
  });
});
