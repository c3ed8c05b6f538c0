import { assert, describe, expect, it } from 'vitest';
import { BOUNDS_SCAN_MIN_BYTES, jsonBoundPassed, MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, nestsDeeperThan, refusedBeforeParse } from './json-bounds.js';

const bytesNestDeeperThan = (bytes: Uint8Array, max = MAX_JSON_DEPTH): boolean => jsonBoundPassed(bytes, max) === 'depth';
const tooDeepToParse = (json: Uint8Array | string): boolean => refusedBeforeParse(json)?.issues[0]?.message.includes('nests deeper') ?? false;

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

describe('jsonBoundPassed and refusedBeforeParse on depth (before parsing)', () => {
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

  it("refusedBeforeParse: text and bytes alike from BOUNDS_SCAN_MIN_BYTES on; under it not read (the parsed value's depth is checked instead)", () => {
    const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
    const pad = (json: string) => `{"pad":"${'é'.repeat(BOUNDS_SCAN_MIN_BYTES)}","x":${json}}`; // the object is a level: 65 inside it is 66, 63 is 64
    for (const [json, expected] of [[deep, false], [pad(deep), true], [pad(deep.slice(2, -2)), false]] as const) {
      expect(tooDeepToParse(json), json.slice(-140)).toBe(expected);
      expect(tooDeepToParse(Buffer.from(json)), json.slice(-140)).toBe(expected);
    }
  });
});

describe('jsonBoundPassed and refusedBeforeParse on arrays and objects in all', () => {
  const many = (item: string, n: number) => `{"a":[${Array(n).fill(item).join(',')}]}`; // the object and its list are two

  it('counts arrays and objects, at any depth, not brackets in strings', () => {
    expect(jsonBoundPassed(Buffer.from('[[],{},[{}]]'), 64, 5)).toBe(undefined);
    expect(jsonBoundPassed(Buffer.from('[[],{},[{}],1]'), 64, 4)).toBe('containers');
    expect(jsonBoundPassed(Buffer.from('["[[[[[[[[[[","{{{{"]'), 64, 1)).toBe(undefined);
    // The depth bound is named when a bracket passes both.
    expect(jsonBoundPassed(Buffer.from('[[[]]]'), 2, 2)).toBe('depth');
  });

  it('refuses a body of more than MAX_JSON_CONTAINERS with a 400 that names the bound and what to send instead', () => {
    for (const item of ['{}', '[]', '[1]']) {
      const atBound = many(item, MAX_JSON_CONTAINERS - 2);
      const past = many(item, MAX_JSON_CONTAINERS - 1);
      expect(refusedBeforeParse(atBound), item).toBe(undefined);
      expect(refusedBeforeParse(Buffer.from(atBound)), item).toBe(undefined);
      for (const json of [past, Buffer.from(past)]) {
        const refusal = refusedBeforeParse(json);
        expect(refusal?.type, item).toBe('invalid-input');
        expect(refusal?.message).toBe(`body: the JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects (send large tensors' data flat, row-major, or in the binary extension)`);
      }
    }
  });

  it('stops reading at the first bracket too many', () => {
    const n = 2_000_000;
    const reads: number[] = [];
    const bytes = Buffer.from(many('{}', n));
    const watched = new Proxy(bytes, { get: (t, k) => { if (typeof k === 'string' && /^\d+$/.test(k)) reads.push(Number(k)); return Reflect.get(t, k); } });
    expect(jsonBoundPassed(watched)).toBe('containers');
    // `{"a":[` then MAX_JSON_CONTAINERS - 2 items of three bytes: the next `{` is the one too many.
    expect(Math.max(...reads.slice(-10))).toBe(6 + 3 * (MAX_JSON_CONTAINERS - 2));
  });
});
