import type { Request, Response } from 'express';
import { describe, expect, it, vi } from 'vitest';
import { ROUTES } from '../openapi/routes.js';
import { allowedMethodsOf } from './allowed-methods.js';
import { answerOptions } from './options.js';

function ask(method: string, path: string) {
  const headers: Record<string, string> = {};
  const res = { statusCode: 0, ended: false, setHeader: (k: string, v: string) => (headers[k] = v), status(s: number) { this.statusCode = s; return this; }, end() { this.ended = true; } };
  const next = vi.fn();
  answerOptions(allowedMethodsOf(ROUTES))({ method, path } as Request, res as unknown as Response, next);
  return { headers, res, next };
}

describe('answerOptions', () => {
  it('answers OPTIONS on a served path with the Allow list a 405 there gives (OPTIONS included)', () => {
    const batches = ask('OPTIONS', '/v1/batches');
    expect(batches.res).toMatchObject({ statusCode: 204, ended: true });
    expect(batches.headers['Allow']).toBe('POST, GET, HEAD, OPTIONS');
    expect(batches.headers['Allow']).toBe(allowedMethodsOf(ROUTES)('/v1/batches')!.join(', '));
    expect(ask('OPTIONS', '/v1/jobs/job_x').headers['Allow']).toBe('GET, HEAD, OPTIONS');
    expect(batches.next).not.toHaveBeenCalled();
  });

  it('leaves other methods, and paths nothing serves (a 404), to what follows', () => {
    expect(ask('GET', '/v1/batches').next).toHaveBeenCalledWith();
    const none = ask('OPTIONS', '/v1/nothing/at/all');
    expect(none.next).toHaveBeenCalledWith();
    expect(none.headers).toEqual({});
  });
});
