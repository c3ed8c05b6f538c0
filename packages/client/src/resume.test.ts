import { describe, expect, it } from 'vitest';
import { resumedPart, tagOf } from './resume.js';

const part = (contentRange: string | null, etag: string | null = '"t"', contentEncoding: string | null = null) => ({ status: 206, contentRange, contentEncoding, etag });

describe('resumedPart', () => {
  it('takes a part that starts where the bytes received end, and gives its total', () => {
    expect(resumedPart(part('bytes 100-999/1000'), 100, '"t"', undefined)).toEqual({ part: true, total: 1000 });
    expect(resumedPart(part('bytes 100-999/1000', null), 100, undefined, 1000)).toEqual({ part: true, total: 1000 });
  });
  it('reads a weak first tag (a compressed whole answer) as the same results as its strong part', () => {
    expect(tagOf('W/"t"')).toBe('"t"');
    expect(resumedPart(part('bytes 5-9/10'), 5, tagOf('W/"t"'), undefined)).toEqual({ part: true, total: 10 });
  });
  it('skips into a whole answer sent again by what reads no Range', () => {
    expect(resumedPart({ status: 200, contentRange: null, contentEncoding: 'gzip', etag: 'W/"t"' }, 100, '"t"', undefined)).toEqual({ part: false });
    expect(resumedPart({ status: 200, contentRange: null, contentEncoding: null, etag: null }, 100, undefined, undefined)).toEqual({ part: false });
  });
  it('refuses other results, another range, a compressed part, a changed length', () => {
    expect(resumedPart(part('bytes 100-999/1000', '"u"'), 100, '"t"', undefined)).toMatchObject({ refused: expect.stringMatching(/tag changed/) });
    expect(resumedPart({ status: 200, contentRange: null, contentEncoding: null, etag: '"u"' }, 100, '"t"', undefined)).toMatchObject({ refused: expect.stringMatching(/tag changed/) });
    expect(resumedPart(part('bytes 0-999/1000'), 100, '"t"', undefined)).toMatchObject({ refused: expect.stringMatching(/not from byte 100/) });
    expect(resumedPart(part(null), 100, '"t"', undefined)).toMatchObject({ refused: expect.stringMatching(/no Content-Range/) });
    expect(resumedPart(part('bytes 100-199/200', '"t"', 'gzip'), 100, '"t"', undefined)).toMatchObject({ refused: expect.stringMatching(/gzip-encoded/) });
    expect(resumedPart(part('bytes 100-899/900'), 100, '"t"', 1000)).toMatchObject({ refused: expect.stringMatching(/length changed from 1000 to 900/) });
  });
});
