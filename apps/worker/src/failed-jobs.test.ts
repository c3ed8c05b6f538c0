import { describe, expect, it } from 'vitest';
import { failedJobs, SHOWN } from './failed-jobs.js';

const task = (id: string, data: Record<string, unknown>) => ({ job: { id, data: { tenant: 'default', ...data } } }) as never;

describe('failedJobs', () => {
  it("names jobs by their public ids (a carrier's members, not its own id), with their tenants and batches", () => {
    const f = failedJobs([
      task('j1', { tenant: 'acme' }),
      task('carrier', { tenant: 'acme', members: [{ id: 'm1', rows: 1 }, { id: 'm2', rows: 2 }] }),
      task('b1:3', { tenant: 'zeta', batch: { id: 'b1', chunk: 3 } }),
    ]);
    expect(f).toEqual({ job_ids: ['j1', 'm1', 'm2', 'b1:3'], jobs: 4, batch_ids: ['b1'], tenants: ['acme', 'zeta'] });
  });

  it('shows at most SHOWN ids, with the count of all', () => {
    const f = failedJobs(Array.from({ length: SHOWN + 5 }, (_, i) => task(`j${i}`, {})));
    expect(f.job_ids).toHaveLength(SHOWN);
    expect(f.jobs).toBe(SHOWN + 5);
    expect(f.tenants).toEqual(['default']);
    expect(f).not.toHaveProperty('batch_ids');
  });
});
