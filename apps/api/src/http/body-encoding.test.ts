import { describe, expect, it } from 'vitest';
import { contentEncoding } from './body-encoding.js';

const of = (value?: string | string[]) => contentEncoding({ headers: value === undefined ? {} : { 'content-encoding': value } });

describe('contentEncoding', () => {
  it('is identity when none is given or empty', () => {
    expect(of()).toBe('identity');
    expect(of('')).toBe('identity');
    expect(of(' Identity ')).toBe('identity');
  });
  it('reads one coding in any case', () => {
    expect(of('GZip')).toBe('gzip');
    expect(of('br')).toBe('br');
  });
  it('leaves identity out of a list (RFC 9110 §8.4), in a header or repeated headers', () => {
    expect(of('gzip, identity')).toBe('gzip');
    expect(of('identity,gzip')).toBe('gzip');
    expect(of(['identity', 'deflate'])).toBe('deflate');
    expect(of('identity, identity')).toBe('identity');
  });
  it('keeps stacked codings as a list (which no decoder reads: a 415)', () => {
    expect(of('gzip, br')).toBe('gzip, br');
  });
});
