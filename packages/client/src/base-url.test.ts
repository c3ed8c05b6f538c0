import { describe, expect, it } from 'vitest';
import { parseBaseUrl, redactUrl, requestUrl } from './base-url.js';

describe('a base URL as users write it', () => {
  it('keeps scheme, host and path prefix, without trailing slashes or a fragment', () => {
    expect(parseBaseUrl('http://127.0.0.1:8080/').root).toBe('http://127.0.0.1:8080');
    expect(parseBaseUrl('https://gw.example/maas//#top').root).toBe('https://gw.example/maas');
    expect(parseBaseUrl('http://h:8080').basicAuth).toBeUndefined();
  });

  it('turns credentials into Basic auth (percent-decoded) and leaves them out of every URL', () => {
    const base = parseBaseUrl('http://me:k%40y%3Ax@h:8080/p');
    expect(base.root).toBe('http://h:8080/p');
    expect(base.basicAuth).toBe(`Basic ${Buffer.from('me:k@y:x').toString('base64')}`);
    expect(requestUrl(base, '/v1/jobs/j1')).toBe('http://h:8080/p/v1/jobs/j1');
    expect(parseBaseUrl('http://:KEY@h').basicAuth).toBe(`Basic ${Buffer.from(':KEY').toString('base64')}`);
  });

  it("sends the base's query with every request, the call's own after it and winning on a shared name", () => {
    const base = parseBaseUrl('http://h/p?token=t1&wait=9');
    expect(requestUrl(base, '/v1/jobs/j1')).toBe('http://h/p/v1/jobs/j1?token=t1&wait=9');
    expect(requestUrl(base, '/v1/jobs/j1', { wait: 2, after: undefined })).toBe('http://h/p/v1/jobs/j1?token=t1&wait=2');
  });

  it('refuses what is not an absolute http(s) URL without showing a password', () => {
    expect(() => parseBaseUrl('127.0.0.1:8080')).toThrow(TypeError);
    expect(() => parseBaseUrl('ftp://h')).toThrow(/http or https/);
    expect(() => parseBaseUrl('http://u:SECRET@h:99999')).toThrow(/^(?!.*SECRET)/s);
    expect(() => parseBaseUrl('http://u:SE%zzCRET@h')).toThrow(TypeError);
  });

  it('redacts credentials for messages, the rest as written, in URLs and in text that is not one', () => {
    expect(redactUrl('http://u:p@ss@h')).toBe('http://h');
    expect(redactUrl('http://u:SECRET@h:8080/p')).toBe('http://h:8080/p');
    expect(redactUrl('http://h:8080/p')).toBe('http://h:8080/p');
    expect(redactUrl('http://u:SECRET@h:99999')).toBe('http://h:99999');
  });
});
