import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { targetPath } from './target-path.js';

const req = (url: string) => ({ url }) as IncomingMessage;

describe('targetPath', () => {
  it('is the path of an origin-form target, without its query', () => {
    expect(targetPath(req('/v1/jobs'))).toBe('/v1/jobs');
    expect(targetPath(req('/v1/jobs?wait=1&x=/y'))).toBe('/v1/jobs');
    expect(targetPath(req('/'))).toBe('/');
  });
  it('is the path of an absolute-form target (RFC 9112 §3.2.2)', () => {
    expect(targetPath(req('http://localhost:8080/v2/models/m/infer?x=1'))).toBe('/v2/models/m/infer');
    expect(targetPath(req('http://h'))).toBe('/');
  });
  it('is empty for a target it cannot read', () => {
    expect(targetPath(req('*'))).toBe('');
    expect(targetPath(req('not a url'))).toBe('');
  });
});
