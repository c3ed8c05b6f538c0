import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { emptyBody, hasBody } from './has-body.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('hasBody', () => {
  it('is true for a chunked body or a positive Content-Length, false otherwise', () => {
    expect(hasBody(req({ 'transfer-encoding': 'chunked' }))).toBe(true);
    expect(hasBody(req({ 'content-length': '12' }))).toBe(true);
    expect(hasBody(req({ 'content-length': '0' }))).toBe(false);
    expect(hasBody(req({ 'content-type': 'application/json' }))).toBe(false);
    expect(hasBody(req({ 'content-length': 'x' }))).toBe(false);
  });

  it('words the 400 with what to send', () => {
    expect(emptyBody('a JSON object')).toMatchObject({ status: 400, detail: 'body: the request has no body: send a JSON object' });
  });
});
