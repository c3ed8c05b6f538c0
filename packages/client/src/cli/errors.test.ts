import { describe, expect, it } from 'vitest';
import { MaasApiError, MaasConnectionError, MaasJobFailedError, MaasTimeoutError } from '../errors.js';
import type { Job } from '../types.js';
import { Interrupted, UsageError } from './command.js';
import { describeError } from './errors.js';

const URL = 'http://127.0.0.1:8080';

describe('describeError', () => {
  it('prints a problem as "error: <title>: <detail>" and lists several input errors', () => {
    const one = new MaasApiError({ type: 'urn:maas:problem:not-found', title: 'Not found', status: 404, detail: "job 'x' not found" });
    expect(describeError(one, URL)).toEqual({ message: "error: Not found: job 'x' not found", code: 1 });
    const many = new MaasApiError({
      type: 'urn:maas:problem:invalid-input', title: 'Invalid input', status: 400, detail: 'inputs[0].shape: bad; inputs[1].datatype: bad',
      errors: [{ path: 'inputs[0].shape', message: 'bad' }, { path: 'inputs[1].datatype', message: 'bad' }],
    });
    expect(describeError(many, URL).message).toBe('error: Invalid input: inputs[0].shape: bad; inputs[1].datatype: bad\n  - inputs[0].shape: bad\n  - inputs[1].datatype: bad');
  });

  it('adds the fix for a 401 and the wait for a 429', () => {
    const unauthorized = new MaasApiError({ type: 'urn:maas:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'API key not recognised' });
    expect(describeError(unauthorized, URL).message).toBe('error: Unauthorized: API key not recognised\nhint: the key given (--api-key or MAAS_API_KEY) is not one this server knows');
    const doubled = new MaasApiError({ type: 'urn:maas:problem:not-found', title: 'Not found', status: 404, detail: "route 'GET /v1/v1/models' not found" });
    expect(describeError(doubled, URL).message).toMatch(/\nhint: --url \(or MAAS_URL\) is the server's root, without \/v1 or \/v2$/);
    const none = new MaasApiError({ type: 'urn:maas:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'an API key is required' });
    expect(describeError(none, URL).message).toBe('error: Unauthorized: an API key is required\nhint: pass --api-key KEY or set MAAS_API_KEY');
    const full = new MaasApiError({ type: 'urn:maas:problem:queue-full', title: 'Queue full', status: 429, detail: 'retry later' }, 2);
    expect(describeError(full, URL).message).toBe('error: Queue full: retry later\n(the server asks to retry after 2 s)');
  });

  it('says how to fix an unreachable API', () => {
    const refused = new MaasConnectionError(`${URL}/v1/models`, 'ECONNREFUSED', 'ECONNREFUSED');
    expect(describeError(refused, URL)).toEqual({ message: `error: cannot reach ${URL}: is the API running? (npm start)`, code: 1 });
    expect(describeError(new MaasConnectionError(URL, 'bad port', undefined), URL).message).toBe(`error: cannot reach ${URL}: bad port`);
    expect(describeError(new MaasTimeoutError(URL, 120_000), URL).message).toBe(`error: no answer from ${URL} within 120 s`);
    expect(describeError(new MaasTimeoutError(URL, 120_000, 'body'), URL).message).toBe(`error: ${URL} answered, then its body did not finish within 120 s`);
  });

  it('usage errors exit 2 and point at the help', () => {
    expect(describeError(new UsageError('--model is required'), URL, 'batch submit')).toEqual({
      message: 'error: --model is required\n(see "maas batch submit --help")',
      code: 2,
    });
    expect(describeError(new UsageError('unknown command "x"'), URL).message).toMatch(/maas --help/);
  });

  it('failed jobs, interrupts, files and anything else', () => {
    const job = { id: 'job_1', status: 'failed', error: { type: 'expired', message: 'too late' } } as Job;
    expect(describeError(new MaasJobFailedError(job), URL)).toEqual({ message: 'error: job job_1 failed: expired: too late', code: 1 });
    expect(describeError(new Interrupted('stopped'), URL)).toEqual({ message: 'interrupted: stopped', code: 130 });
    const enoent = Object.assign(new Error('x'), { code: 'ENOENT', path: '/nope/out.ndjson.partial' });
    expect(describeError(enoent, URL).message).toBe('error: /nope/out.ndjson.partial: no such file or directory');
    expect(describeError(new Error('odd'), URL)).toEqual({ message: 'error: odd', code: 1 });
  });
});
