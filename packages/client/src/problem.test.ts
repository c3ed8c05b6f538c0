import { describe, expect, it } from 'vitest';
import { MaasApiError } from './errors.js';
import { apiErrorFrom } from './problem.js';

const answer = (status: number, body: string, headers: Record<string, string> = {}, statusText = '') => ({
  status,
  statusText,
  headers: new Headers(headers),
  body,
});

describe('apiErrorFrom: error answers → MaasApiError', () => {
  it('maps a problem+json 400 with per-input errors', () => {
    const problem = {
      type: 'urn:maas:problem:invalid-input',
      title: 'Invalid input',
      status: 400,
      detail: "inputs[0]: unknown input 'pixels'",
      instance: '/v1/jobs',
      errors: [{ path: 'inputs[0]', message: "unknown input 'pixels'" }],
    };
    const err = apiErrorFrom(answer(400, JSON.stringify(problem), { 'content-type': 'application/problem+json; charset=utf-8' }));
    expect(err).toBeInstanceOf(MaasApiError);
    expect(err).toMatchObject({ status: 400, type: problem.type, title: 'Invalid input', detail: problem.detail, errors: problem.errors, retryAfter: undefined });
    expect(err.problem).toEqual(problem);
    expect(err.code).toBe('invalid-input');
    expect(err.message).toBe(`400 Invalid input: ${problem.detail}`);
  });

  it('reads Retry-After (seconds or HTTP date) and keeps extensions', () => {
    const body = JSON.stringify({ type: 'urn:maas:problem:queue-full', title: 'Queue full', status: 429, detail: 'retry later', queue: 'mlp/1' });
    const err = apiErrorFrom(answer(429, body, { 'content-type': 'application/problem+json', 'retry-after': '3' }));
    expect(err.retryAfter).toBe(3);
    expect(err.problem['queue']).toBe('mlp/1');
    const now = Date.parse('2026-01-01T00:00:00Z');
    const dated = apiErrorFrom(answer(503, body, { 'content-type': 'application/problem+json', 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), now);
    expect(dated.retryAfter).toBe(7);
    expect(dated.status).toBe(503);
    expect(apiErrorFrom(answer(503, body, { 'content-type': 'application/problem+json', 'retry-after': 'soon' })).retryAfter).toBeUndefined();
  });

  it('turns a non-problem answer (a proxy page) into about:blank with the start of the body', () => {
    const err = apiErrorFrom(answer(502, `<html>${'x'.repeat(2000)}</html>`, { 'content-type': 'text/html' }, 'Bad Gateway'));
    expect(err).toMatchObject({ status: 502, type: 'about:blank', title: 'Bad Gateway', errors: undefined });
    expect(err.code).toBe('about:blank'); // not 'blank'
    expect(err.detail.length).toBeLessThanOrEqual(501);
    expect(apiErrorFrom(answer(500, '')).title).toBe('HTTP 500');
    expect(apiErrorFrom(answer(400, 'not json', { 'content-type': 'application/problem+json' }))).toMatchObject({ type: 'about:blank', detail: 'not json' });
  });

  it('accepts plain JSON bodies shaped like problems, and trusts the status line over the body', () => {
    const err = apiErrorFrom(answer(404, JSON.stringify({ title: 'Not found', detail: "job 'x' not found", status: 200 }), { 'content-type': 'application/json' }));
    expect(err).toMatchObject({ status: 404, type: 'about:blank', title: 'Not found', detail: "job 'x' not found" });
  });
});
