import { describe, expect, it } from 'vitest';
import { CANCELED_BEFORE_IT_RAN, encodeJobError } from '@maas/shared';
import { recordedEnding } from './jobs.js';

describe('recordedEnding (a webhook job BullMQ failed, read as the ledger recorded its ending)', () => {
  it('a recorded completion: completed, with its result and no failure', () => {
    const result = { outputs: [], metrics: { worker: 'w1' } };
    expect(recordedEnding('completed', JSON.stringify(result))).toEqual({ state: 'completed', fields: { returnvalue: result, failedReason: undefined } });
  });

  it('a recorded failure: failed, with its own error', () => {
    const reason = encodeJobError({ type: 'expired', message: 'timeout_ms elapsed before the job could run' });
    expect(recordedEnding(`failed:${reason}`, null)).toEqual({ state: 'failed', fields: { failedReason: reason } });
  });

  it('a recorded cancel BullMQ then failed with its own words (its stall check): canceled before it ran', () => {
    const stalled = 'job stalled more than allowable limit';
    expect(recordedEnding('canceled', null, stalled)).toEqual({ state: 'failed', fields: { failedReason: encodeJobError(CANCELED_BEFORE_IT_RAN) } });
  });

  it('nothing to change: a cancel BullMQ failed as one, a completion without its result, or one that does not read', () => {
    expect(recordedEnding('canceled', null, encodeJobError({ type: 'canceled', message: 'canceled while it ran' }))).toBeUndefined();
    expect(recordedEnding('completed', null)).toBeUndefined();
    expect(recordedEnding('completed', '{not json')).toBeUndefined();
    expect(recordedEnding('finished', null)).toBeUndefined();
  });
});
