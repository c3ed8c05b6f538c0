import { describe, expect, it } from 'vitest';
import { JOB_EVENTS_CHANNEL, type Logger } from '@maas/shared';
import { INLINE_RESULT_BYTES, JobAnnouncer, settledRecord } from './job-announcer.js';

const job = (outputs: { b64: string }[]) => ({
  id: 'job_1', timestamp: 10, processedOn: 11, finishedOn: 12,
  data: { v: 1, model: 'm', version: 1, tenant: 't', rows: 1, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], b64: 'AAAAAA==' }], outputs: [], priority: 10 },
  result: { v: 1, outputs: outputs.map((o) => ({ name: 'y', datatype: 'FP32', shape: [1], ...o })), metrics: {} },
});

describe('settledRecord', () => {
  it('carries the job without its inputs, with its result', () => {
    const j = job([{ b64: 'AACAPw==' }]);
    const r = settledRecord(j as never, j.result as never)!;
    expect(r.data.inputs).toEqual([]);
    expect(r.data.tenant).toBe('t');
    expect(r.returnvalue).toBe(j.result);
    expect([r.id, r.timestamp, r.processedOn, r.finishedOn]).toEqual(['job_1', 10, 11, 12]);
  });

  it('leaves large results to be read back', () => {
    const j = job([{ b64: 'A'.repeat(INLINE_RESULT_BYTES + 4) }]);
    expect(settledRecord(j as never, j.result as never)).toBeUndefined();
  });

  it("leaves a carrier whose members' metadata is large to be read back (every API process would parse it)", () => {
    const j = job([{ b64: 'AACAPw==' }]);
    const members = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `job_${i}`, rows: 1, metadata: { note: 'x'.repeat(8_000) } }));
    expect(settledRecord({ ...j, data: { ...j.data, members: members(4) } } as never, j.result as never)).toBeDefined();
    expect(settledRecord({ ...j, data: { ...j.data, members: members(9) } } as never, j.result as never)).toBeUndefined();
  });
});

describe('JobAnnouncer', () => {
  it('publishes the events of one turn as one message', async () => {
    const sent: [string, string][] = [];
    const redis = { publish: async (c: string, m: string) => void sent.push([c, m]) };
    const a = new JobAnnouncer(redis as never, { warn: () => {} } as unknown as Logger);
    a.announce({ id: 'j1', event: 'completed' });
    a.announce({ id: 'j2', event: 'failed' });
    await new Promise((r) => setImmediate(r));
    a.announce({ id: 'j3', event: 'completed' });
    await new Promise((r) => setImmediate(r));
    expect(sent.map(([c]) => c)).toEqual([JOB_EVENTS_CHANNEL, JOB_EVENTS_CHANNEL]);
    expect(sent.map(([, m]) => JSON.parse(m).map((e: { id: string }) => e.id))).toEqual([['j1', 'j2'], ['j3']]);
  });
});
