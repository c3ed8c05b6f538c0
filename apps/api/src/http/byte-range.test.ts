import { describe, expect, it } from 'vitest';
import { bytesBetween, contentRange, ifRangeHolds, noneMatchHolds, preconditions, rangeAsked, rangeOf } from './byte-range.js';

/** What the route answers a Range with, for an answer of `total` bytes: rangeAsked, then rangeOf. */
const requestedRange = (header: string | undefined, total: number) => {
  const asked = rangeAsked(header);
  return asked && rangeOf(asked, total);
};

describe('requestedRange', () => {
  it('reads a first-last range, an open one and a suffix', () => {
    expect(requestedRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(requestedRange('bytes=500-', 1000)).toEqual({ start: 500, end: 999 });
    expect(requestedRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(requestedRange(' Bytes = 10 - 19 ', 1000)).toEqual({ start: 10, end: 19 });
  });
  it('ends a range past the end at the last byte, and a suffix longer than the answer at the first', () => {
    expect(requestedRange('bytes=900-5000', 1000)).toEqual({ start: 900, end: 999 });
    expect(requestedRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(requestedRange('bytes=999-999', 1000)).toEqual({ start: 999, end: 999 });
  });
  it('is unsatisfiable when it starts past the end, or asks for no byte', () => {
    expect(requestedRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=1000-2000', 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(requestedRange('bytes=-10', 0)).toBe('unsatisfiable');
    // A position of more digits than a double holds exactly is still past the end (a security audit: it was answered whole).
    expect(requestedRange('bytes=99999999999999999999-', 1000)).toBe('unsatisfiable');
    expect(requestedRange(`bytes=${'9'.repeat(190)}-`, 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=0-99999999999999999999', 1000)).toEqual({ start: 0, end: 999 });
    expect(requestedRange('bytes=-99999999999999999999', 1000)).toEqual({ start: 0, end: 999 });
  });
  it('leaves the whole answer for no Range, several ranges, another unit and what is not valid', () => {
    for (const h of [undefined, 'bytes=0-9,20-29', 'items=0-9', 'bytes=9-0', 'bytes=-', 'bytes=a-b', 'bytes 0-9', 'bytes=99999999999999999999-5']) {
      expect(requestedRange(h, 1000), String(h)).toBeUndefined();
    }
  });
});

describe('rangeAsked', () => {
  it('reads what is asked without the length: nothing for what a whole answer goes to', () => {
    expect(rangeAsked('bytes=5-')).toEqual({ first: 5, last: undefined });
    expect(rangeAsked('bytes=5-9')).toEqual({ first: 5, last: 9 });
    expect(rangeAsked('bytes=-9')).toEqual({ suffix: 9 });
    for (const h of [undefined, 'bytes=0-9,20-29', 'items=0-9', 'bytes=1-0', 'bytes=-']) expect(rangeAsked(h), String(h)).toBeUndefined();
  });

  it('takes spaces around its parts and a unit in any case; refuses spaces inside a number and other characters', () => {
    expect(rangeAsked(' Bytes = 5 - 9 ')).toEqual({ first: 5, last: 9 });
    expect(rangeAsked('bytes=\t-9')).toEqual({ suffix: 9 });
    for (const h of ['bytes=1 2-3', 'bytes=5-9x', 'bytes=+5-9', 'bytes5-9', 'bytes=0x5-9', 'bytes=5-9-']) expect(rangeAsked(h), h).toBeUndefined();
  });

  it('reads a hostile header (thousands of spaces) at once: it is longer than any one byte range', () => {
    const spaces = ' '.repeat(8000);
    const t0 = performance.now();
    expect(rangeAsked(`bytes=${spaces}-${spaces}x`)).toBeUndefined();
    expect(rangeAsked(`bytes=${' '.repeat(90)}-${' '.repeat(90)}x`)).toBeUndefined(); // under the length cap, read by splitting
    expect(performance.now() - t0).toBeLessThan(500); // the regular expression it replaces took about 70 s on 2,000 + 8,000 spaces
  });
});

describe('contentRange', () => {
  it('names the part sent, or only the length for a 416', () => {
    expect(contentRange({ start: 0, end: 99 }, 1000)).toBe('bytes 0-99/1000');
    expect(contentRange(undefined, 1000)).toBe('bytes */1000');
  });
});

describe('ifRangeHolds', () => {
  it('holds without If-Range or for the same strong tag, not for another tag, a weak one or a date', () => {
    expect(ifRangeHolds(undefined, '"a"')).toBe(true);
    expect(ifRangeHolds('"a"', '"a"')).toBe(true);
    expect(ifRangeHolds('"b"', '"a"')).toBe(false);
    expect(ifRangeHolds('W/"a"', '"a"')).toBe(false);
    expect(ifRangeHolds('Sun, 06 Dec 2026 01:00:00 GMT', '"a"')).toBe(false);
  });
  it('holds for the Last-Modified date exactly, when there is one', () => {
    const lm = 'Sun, 06 Dec 2026 01:00:00 GMT';
    expect(ifRangeHolds(lm, '"a"', lm)).toBe(true);
    expect(ifRangeHolds('Sun, 06 Dec 2026 01:00:01 GMT', '"a"', lm)).toBe(false);
    expect(ifRangeHolds('not a date', '"a"', lm)).toBe(false);
    expect(ifRangeHolds('"a"', '"b"', lm)).toBe(false);
  });
});

describe('bytesBetween', () => {
  const pieces = (...texts: string[]) => (async function* () {
    for (const t of texts) yield Buffer.from(t);
  })();
  const read = async (source: AsyncIterable<Uint8Array>) => {
    let text = '';
    for await (const p of source) text += Buffer.from(p).toString();
    return text;
  };
  it('takes the same bytes as a slice of the whole, wherever the pieces break', async () => {
    const texts = ['abc', '', 'defgh', 'i', 'jklmnop'];
    const whole = texts.join('');
    for (let skip = 0; skip <= whole.length; skip++) {
      for (let take = 0; take <= whole.length - skip + 2; take++) {
        expect(await read(bytesBetween(pieces(...texts), skip, take)), `${skip}+${take}`).toBe(whole.slice(skip, skip + take));
      }
    }
  });
  it('stops reading the source once it has the bytes', async () => {
    let read = 0;
    let returned = false;
    const source = (async function* () {
      try {
        for (;;) {
          read++;
          yield Buffer.from('0123456789');
        }
      } finally {
        returned = true;
      }
    })();
    const got: Uint8Array[] = [];
    for await (const p of bytesBetween(source, 15, 10)) got.push(p);
    expect(Buffer.concat(got).toString()).toBe('5678901234');
    expect(read).toBe(3);
    expect(returned).toBe(true);
  });
});

describe('noneMatchHolds', () => {
  it('matches the tag, weak or strong, in a list, or *; nothing else', () => {
    expect(noneMatchHolds('"a"', '"a"')).toBe(true);
    expect(noneMatchHolds('W/"a"', '"a"')).toBe(true);
    expect(noneMatchHolds('"x", W/"a"', '"a"')).toBe(true);
    expect(noneMatchHolds('*', '"a"')).toBe(true);
    expect(noneMatchHolds(undefined, '"a"')).toBe(false);
    expect(noneMatchHolds('"b"', '"a"')).toBe(false);
  });
});

describe('preconditions', () => {
  const tag = '"r1"';
  const at = 'Sun, 06 Dec 2026 03:00:00 GMT';
  const before = 'Sun, 06 Dec 2026 02:59:59 GMT';
  const after = 'Sun, 06 Dec 2026 03:00:01 GMT';
  it('fails an If-Match that names none of the answer (strong comparison), or an If-Unmodified-Since it was modified after', () => {
    expect(preconditions({ ifMatch: '"x"' }, tag, at)).toBe('failed');
    expect(preconditions({ ifMatch: 'W/"r1"' }, tag, at)).toBe('failed');
    expect(preconditions({ ifMatch: '"x", "r1"' }, tag, at)).toBe('send');
    expect(preconditions({ ifMatch: '*' }, tag, at)).toBe('send');
    expect(preconditions({ ifUnmodifiedSince: before }, tag, at)).toBe('failed');
    expect(preconditions({ ifUnmodifiedSince: at }, tag, at)).toBe('send');
    expect(preconditions({ ifMatch: '"r1"', ifUnmodifiedSince: before }, tag, at)).toBe('send'); // If-Match rules it out
    expect(preconditions({ ifUnmodifiedSince: 'not a date' }, tag, at)).toBe('send');
  });
  it('answers not-modified to an If-None-Match that names it, else to an If-Modified-Since it was not modified after', () => {
    expect(preconditions({ ifNoneMatch: 'W/"r1"' }, tag, at)).toBe('not-modified');
    expect(preconditions({ ifNoneMatch: '"x"' }, tag, at)).toBe('send');
    expect(preconditions({ ifModifiedSince: at }, tag, at)).toBe('not-modified');
    expect(preconditions({ ifModifiedSince: after }, tag, at)).toBe('not-modified');
    expect(preconditions({ ifModifiedSince: before }, tag, at)).toBe('send');
    expect(preconditions({ ifNoneMatch: '"x"', ifModifiedSince: after }, tag, at)).toBe('send'); // If-None-Match rules it out
    expect(preconditions({ ifModifiedSince: 'garbage' }, tag, at)).toBe('send');
    expect(preconditions({ ifModifiedSince: at }, tag, undefined)).toBe('send');
    expect(preconditions({}, tag, at)).toBe('send');
    expect(preconditions({ ifMatch: '"x"', ifNoneMatch: '"r1"' }, tag, at)).toBe('failed');
  });
  it('ignores an If-Modified-Since later than now (not a valid one, RFC 9110 §13.1.3)', () => {
    const now = Date.parse(at) + 500;
    expect(preconditions({ ifModifiedSince: after }, tag, at, now)).toBe('send');
    expect(preconditions({ ifModifiedSince: at }, tag, at, now)).toBe('not-modified');
  });
});
