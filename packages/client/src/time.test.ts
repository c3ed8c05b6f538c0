import { describe, expect, it } from 'vitest';
import { MaasApiError, MaasConnectionError } from './errors.js';
import { throughRestarts } from './time.js';

const problem = (status: number, type: string) => new MaasApiError({ type, title: 't', status });

describe('throughRestarts', () => {
  it('tries again through a refused connection and a gateway\'s 502/504, and returns the answer', async () => {
    const failures: unknown[] = [
      new MaasConnectionError('http://x', 'ECONNREFUSED', 'ECONNREFUSED'),
      problem(502, 'about:blank'),
      problem(504, 'about:blank'),
    ];
    let tries = 0;
    const got = await throughRestarts(async () => {
      tries++;
      const f = failures.shift();
      if (f) throw f;
      return 'ok';
    }, Date.now() + 10_000);
    expect(got).toBe('ok');
    expect(tries).toBe(4);
  }, 10_000);
  it('throws the API\'s own problems at once, its 504 timeout too', async () => {
    for (const err of [problem(504, 'urn:maas:problem:timeout'), problem(404, 'urn:maas:problem:not-found'), problem(500, 'about:blank')]) {
      let tries = 0;
      await expect(throughRestarts(async () => {
        tries++;
        throw err;
      }, Date.now() + 10_000)).rejects.toBe(err);
      expect(tries).toBe(1);
    }
  });
});
