import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readsAsJson } from './infer-body.js';

const req = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers }) as unknown as IncomingMessage;

describe('readsAsJson', () => {
  it('reads JSON content types on any route', () => {
    expect(readsAsJson(req('POST', '/v1/batches', { 'content-type': 'application/json; charset=utf-8' }))).toBe(true);
    expect(readsAsJson(req('POST', '/x', { 'content-type': 'application/merge-patch+json' }))).toBe(true);
    expect(readsAsJson(req('POST', '/v1/jobs', { 'content-type': 'text/plain' }))).toBe(false);
  });
  it('reads a body without Content-Type as JSON on the inference routes only', () => {
    for (const url of ['/v2/models/m/infer', '/v2/models/m/versions/2/infer', '/v1/jobs', '/v1/jobs?x=1', '/v2/repository/index', '/v2/repository/models/m/load']) expect(readsAsJson(req('POST', url)), url).toBe(true);
    for (const url of ['/v1/batches', '/v1/jobs/job_1/cancel', '/v2/models/m/inferx']) expect(readsAsJson(req('POST', url)), url).toBe(false);
  });
  it('never reads a binary-framed body as JSON', () => {
    expect(readsAsJson(req('POST', '/v2/models/m/infer', { 'content-type': 'application/json', 'inference-header-content-length': '10' }))).toBe(false);
  });
});
