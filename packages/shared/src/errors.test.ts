import { describe, expect, it } from 'vitest';
import {
  AppError, ConfigError, IdempotencyConflictError, InferenceError, MalformedJsonError, NotFoundError, PayloadTooLargeError,
  PROBLEMS, problemTypeUri, QueueFullError, RedisUnavailableError, UnauthorizedError, ValidationError, WaitTimeoutError,
} from './errors.js';

describe('error classes', () => {
  const cases: [AppError, number, string, string][] = [
    [new ValidationError([{ path: 'inputs[0]', message: 'bad' }]), 400, 'invalid-input', 'ValidationError'],
    [new MalformedJsonError('Unexpected token'), 400, 'malformed-json', 'MalformedJsonError'],
    [new UnauthorizedError(), 401, 'unauthorized', 'UnauthorizedError'],
    [new NotFoundError('job', 'job_x'), 404, 'not-found', 'NotFoundError'],
    [new IdempotencyConflictError('k1'), 409, 'idempotency-conflict', 'IdempotencyConflictError'],
    [new PayloadTooLargeError('too big'), 413, 'payload-too-large', 'PayloadTooLargeError'],
    [new QueueFullError('mlp', 10, 3), 429, 'queue-full', 'QueueFullError'],
    [new InferenceError('ort failed'), 500, 'inference-failed', 'InferenceError'],
    [new RedisUnavailableError(), 503, 'redis-unavailable', 'RedisUnavailableError'],
    [new WaitTimeoutError('slow'), 504, 'timeout', 'WaitTimeoutError'],
  ];

  it.each(cases)('%s has status %i and type %s', (err, status, type, name) => {
    expect(err).toBeInstanceOf(AppError);
    expect(err).toBeInstanceOf(Error);
    expect(err.status).toBe(status);
    expect(err.type).toBe(type);
    expect(err.name).toBe(name);
    expect(err.message).toBe(err.detail);
  });

  it('every problem type has a 4xx/5xx status and a title', () => {
    for (const [type, p] of Object.entries(PROBLEMS)) {
      expect(p.status, type).toBeGreaterThanOrEqual(400);
      expect(p.status, type).toBeLessThan(600);
      expect(p.title.length, type).toBeGreaterThan(0);
    }
  });

  it('QueueFullError carries Retry-After in seconds', () => {
    const e = new QueueFullError('mlp', 1000, 7);
    expect(e.headers).toEqual({ 'Retry-After': '7' });
    expect(e.detail).toBe('Queue for mlp holds 1000 jobs; retry later');
  });

  it('RedisUnavailableError carries Retry-After and its cause', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new RedisUnavailableError(cause);
    expect(e.headers['Retry-After']).toBe('1');
    expect(e.cause).toBe(cause);
  });

  it('UnauthorizedError asks for a Bearer token', () => {
    expect(new UnauthorizedError().headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it('UnauthorizedError for a token not recognised says invalid_token (RFC 6750 §3)', () => {
    expect(new UnauthorizedError('API key not recognised', true).headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  });

  it('errors without headers have none', () => {
    expect(new NotFoundError('job', 'x').headers).toEqual({});
    expect(new AppError('internal', 'x').status).toBe(500);
  });

  it('ValidationError joins issues into its detail and exposes them as extensions', () => {
    const issues = [{ path: 'inputs[0].shape', message: 'wrong rank' }, { path: '', message: 'no path' }];
    const e = new ValidationError(issues);
    expect(e.detail).toBe('inputs[0].shape: wrong rank; no path');
    expect(e.extensions).toEqual({ errors: issues });
    expect(e.issues).toBe(issues);
  });

  it('NotFoundError names the kind and id', () => {
    expect(new NotFoundError('model', 'resnet').detail).toBe("model 'resnet' not found");
  });

  it('AppError keeps a cause only when given one', () => {
    expect(new MalformedJsonError('x').cause).toBeUndefined();
    expect('cause' in new MalformedJsonError('x')).toBe(false);
    const c = new SyntaxError('y');
    expect(new MalformedJsonError('x', c).cause).toBe(c);
  });

  it('ConfigError lists every problem', () => {
    const e = new ConfigError(['A: bad', 'B: worse']);
    expect(e.name).toBe('ConfigError');
    expect(e.problems).toEqual(['A: bad', 'B: worse']);
    expect(e.message).toBe('Invalid configuration:\n  - A: bad\n  - B: worse');
    expect(e).not.toBeInstanceOf(AppError);
  });

  it('problemTypeUri builds a URN', () => {
    expect(problemTypeUri('queue-full')).toBe('urn:maas:problem:queue-full');
  });
});
