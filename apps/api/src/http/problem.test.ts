import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { AppError, RedisUnavailableError } from '@maas/shared';
import { notJson, problemHandler } from './problem.js';

/** Runs the handler; returns what it logged (level, fields) and what it answered. */
function handle(err: unknown, headers: Record<string, string> = {}) {
  const logged: { level: string; fields: Record<string, unknown> }[] = [];
  const log = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (fields: Record<string, unknown>) => logged.push({ level, fields })]));
  const sent: { status?: number; headers: Record<string, string>; body?: string; type?: string } = { headers: { ...headers } };
  const res = {
    status(s: number) { sent.status = s; return this; },
    type(t: string) { sent.type = t; return this; },
    send(b: string) { sent.body = b; return this; },
    setHeader(k: string, v: string) { sent.headers[k] = v; },
    removeHeader(k: string) { delete sent.headers[k]; },
  };
  problemHandler(err, { log, originalUrl: '/x', complete: true, headers: {} } as unknown as Request, res as unknown as Response, (() => {}) as NextFunction);
  return { logged, sent };
}

describe('problemHandler logging', () => {
  it('logs expected 5xx answers in one line, without a stack', () => {
    const { logged, sent } = handle(new AppError('model-not-ready', 'no live worker serves mlp'));
    expect(sent.status).toBe(503);
    expect(logged).toEqual([{ level: 'debug', fields: { problem: 'model-not-ready', status: 503 } }]);
    const redis = handle(new RedisUnavailableError(new Error('connect ECONNREFUSED')));
    expect(redis.logged).toEqual([{ level: 'warn', fields: { problem: 'redis-unavailable', status: 503, cause: 'connect ECONNREFUSED' } }]);
    expect(redis.sent.headers['Retry-After']).toBe('1');
  });

  it('logs nothing for 4xx answers, and the whole error for unexpected ones', () => {
    expect(handle(new AppError('forbidden', 'no')).logged).toEqual([]);
    const boom = handle(new Error('boom'));
    expect(boom.sent.status).toBe(500);
    expect(boom.logged[0]!.level).toBe('error');
    expect(boom.logged[0]!.fields['err']).toBeInstanceOf(Error);
    expect(boom.sent.body).not.toContain('boom');
  });
  it('answers a client that left mid-body with a 4xx, logged as nothing (raw-body\'s request.aborted)', () => {
    const aborted = Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 });
    const { logged, sent } = handle(aborted);
    expect(sent.status).toBe(400);
    expect(logged).toEqual([]);
    expect(JSON.parse(sent.body!).detail).toMatch(/closed the connection before it sent the whole body/);
    // a streamed upload's: Node's `aborted` (ECONNRESET) was taken for Redis unreachable, a 503 logged as a warning
    const streamed = handle(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    expect(streamed.sent.status).toBe(400);
    expect(streamed.logged).toEqual([]);
  });

  it('says a bare JSON scalar body is the wrong kind of JSON, not invalid JSON', () => {
    for (const [body, kind] of [['null', 'null'], ['42', 'number'], ['"x"', 'string'], ['true', 'boolean']]) {
      const strict = Object.assign(new SyntaxError(`Unexpected token in JSON at position 0`), { type: 'entity.parse.failed', status: 400, body });
      const problem = JSON.parse(handle(strict).sent.body!);
      expect(problem).toMatchObject({ status: 400, type: 'urn:maas:problem:invalid-input' });
      expect(problem.detail).toContain(`expected a JSON object, got ${kind}`);
    }
    const broken = Object.assign(new SyntaxError('Unexpected end of JSON input'), { type: 'entity.parse.failed', status: 400, body: '{"a":' });
    expect(JSON.parse(handle(broken).sent.body!)).toMatchObject({ type: 'urn:maas:problem:malformed-json' });
  });
});

describe('problemHandler headers', () => {
  it('drops what the route set for the answer it meant to send, and sets the problem\'s own', () => {
    const meant = { 'Content-Range': 'bytes 5-9/10', 'Content-Length': '5', ETag: '"t"', 'Last-Modified': 'Sun, 06 Dec 2026 01:00:00 GMT', 'Accept-Ranges': 'bytes', Vary: 'Accept' };
    expect(handle(new AppError('not-found', 'gone'), meant).sent.headers).toEqual({ Vary: 'Accept' });
    expect(handle(new AppError('range-not-satisfiable', 'none', {}, { headers: { 'Content-Range': 'bytes */10' } }), meant).sent.headers).toEqual({ Vary: 'Accept', 'Content-Range': 'bytes */10' });
  });
});

describe('notJson', () => {
  it("tells where NaN and Infinity go (Python's json.dumps writes them), and nothing more for other mistakes", () => {
    let detail = '';
    try {
      JSON.parse('{"a": [1.0, NaN, Infinity]}');
    } catch (err) {
      detail = (err as Error).message;
    }
    expect(notJson(detail).message).toMatch(/NaN and Infinity are not JSON: send such values with the binary tensor extension/);
    expect(notJson('Unexpected end of JSON input').message).toBe('request body is not valid JSON: Unexpected end of JSON input');
  });
});
