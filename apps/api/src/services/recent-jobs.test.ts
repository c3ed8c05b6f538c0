import { describe, expect, it } from 'vitest';
import { PAYLOAD_VERSION, type InferenceJobData } from '@maas/shared';
import { RecentJobs, type RecentJob } from './recent-jobs.js';

const data = (extra: Pick<InferenceJobData, 'metadata' | 'members'> = {}) => ({ v: PAYLOAD_VERSION, model: 'mlp', version: 1, tenant: 't', rows: 1, ...extra, inputs: [] }) as RecentJob['data'];
const note = (n: number) => ({ note: 'x'.repeat(n) }); // JSON: n + 11 bytes

describe('RecentJobs', () => {
  const clock = () => {
    let t = 1_000;
    return { now: () => t, step: (ms: number) => (t += ms) };
  };

  it('keeps at most `entries`, the oldest out first', () => {
    const c = clock();
    const r = new RecentJobs({ entries: 2, bytes: 1e6, ms: 60_000 }, c.now);
    for (const id of ['a', 'b', 'c']) r.add(id, { timestamp: 1, data: data() });
    expect([r.get('a'), r.get('b')?.timestamp, r.get('c')?.timestamp]).toEqual([undefined, 1, 1]);
  });

  it('keeps at most `bytes` of metadata in all, and never an entry larger than that', () => {
    const c = clock();
    const r = new RecentJobs({ entries: 100, bytes: 300, ms: 60_000 }, c.now);
    r.add('a', { timestamp: 1, data: data({ metadata: note(100) }) });
    r.add('b', { timestamp: 2, data: data({ metadata: note(100) }) });
    expect(r.size).toEqual({ entries: 2, bytes: 222 });
    r.add('c', { timestamp: 3, data: data({ members: [{ id: 'm', rows: 1, metadata: note(100) }] }) });
    expect(r.get('a')).toBeUndefined();
    expect(r.size).toEqual({ entries: 2, bytes: 222 });
    r.add('d', { timestamp: 4, data: data({ metadata: note(400) }) });
    expect(r.get('d')).toBeUndefined();
    expect(r.size).toEqual({ entries: 2, bytes: 222 });
    r.add('e', { timestamp: 5, data: data() }); // no metadata: only the entry bound applies
    expect(r.size).toEqual({ entries: 3, bytes: 222 });
  });

  it('forgets entries past `ms`, and lets them go on prune (an idle process)', () => {
    const c = clock();
    const r = new RecentJobs({ entries: 100, bytes: 1e6, ms: 1_000 }, c.now);
    r.add('a', { timestamp: 1, data: data({ metadata: note(100) }) });
    c.step(500);
    r.add('b', { timestamp: 2, data: data() });
    c.step(600);
    expect(r.get('a')).toBeUndefined();
    expect(r.get('b')?.timestamp).toBe(2);
    r.prune();
    expect(r.size).toEqual({ entries: 1, bytes: 0 });
    c.step(1_000);
    r.prune();
    expect(r.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('counts a job added again once', () => {
    const r = new RecentJobs({ entries: 100, bytes: 1e6, ms: 60_000 });
    r.add('a', { timestamp: 1, data: data({ metadata: note(100) }) });
    r.add('a', { timestamp: 2, data: data({ metadata: note(100) }) });
    expect(r.size).toEqual({ entries: 1, bytes: 111 });
    expect(r.get('a')?.timestamp).toBe(2);
  });
});
