import { describe, expect, it } from 'vitest';
import type { Batch } from '../../types.js';
import { MaasApiError } from '../../errors.js';
import { asFlags, batchCommand, summary } from './batch.js';

describe('batchCommand', () => {
  it('names the batch, and the --url and --out given, quoted for a shell', () => {
    expect(batchCommand('wait', 'b_1')).toBe('maas batch wait b_1');
    expect(batchCommand('wait', 'b_1', 'out/results.ndjson')).toBe('maas batch wait b_1 --out out/results.ndjson');
    expect(batchCommand('results', 'b_1', 'my results.ndjson', 'http://h:1')).toBe("maas batch results b_1 --url http://h:1 --out 'my results.ndjson'");
    expect(batchCommand('cancel', 'b_1', undefined, 'http://h:1/?a=1&b=2')).toBe("maas batch cancel b_1 --url 'http://h:1/?a=1&b=2'");
  });

  it('writes an --out starting with - as ./-…, the same file, so it is not read as an option', () => {
    expect(batchCommand('wait', 'b_1', '-out.ndjson')).toBe('maas batch wait b_1 --out ./-out.ndjson');
  });
});

describe('summary', () => {
  const batch = (status: Batch['status'], counts: Batch['counts']): Batch => ({
    id: 'b_1', object: 'batch', model: 'm', status, counts, created_at: '2026-01-01T00:00:00.000Z', started_at: null, completed_at: '2026-01-01T00:00:10.000Z',
  });

  it('counts lines, and the rate of the lines that ran', () => {
    expect(summary(batch('succeeded', { total: 1000, succeeded: 990, failed: 10 }))).toBe('batch b_1 succeeded in 10s: 990 lines succeeded, 10 failed (100 lines/s)');
    expect(summary(batch('succeeded', { total: 1, succeeded: 1, failed: 0 }), 0, 1000)).toBe('batch b_1 succeeded in 1s: 1 line succeeded, 0 failed (1 lines/s)');
  });

  it('a canceled batch\'s rate counts its succeeded lines alone: its failed count holds the lines the cancel ended unrun', () => {
    expect(summary(batch('canceled', { total: 1000, succeeded: 200, failed: 800 }))).toBe('batch b_1 canceled in 10s: 200 lines succeeded, 800 failed (20 succeeded lines/s)');
    expect(summary(batch('canceled', { total: 1000, succeeded: 0, failed: 1000 }))).toBe('batch b_1 canceled in 10s: 0 lines succeeded, 1,000 failed');
  });
});

describe('asFlags', () => {
  const problem = (status: number, detail: string) => new MaasApiError({ type: 'urn:maas:problem:x', title: 'T', status, detail });

  it('says --output where the API says ?output=, keeping the outputs it lists', () => {
    expect(asFlags(problem(406, 'name one of the outputs label, probabilities with ?output=… for .npy results')).detail)
      .toBe('name one of the outputs label, probabilities with --output NAME for .npy results');
    const named = asFlags(problem(400, '?output=lable names no output of penguins; its outputs: label, probabilities'));
    expect(named).toMatchObject({ status: 400, title: 'T', detail: '--output lable names no output of penguins; its outputs: label, probabilities' });
    expect(named).toBeInstanceOf(MaasApiError);
  });

  it('returns any other error as it is', () => {
    const other = problem(409, 'batch b_1 has not finished');
    expect(asFlags(other)).toBe(other);
  });
});
