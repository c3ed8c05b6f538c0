import { describe, expect, it } from 'vitest';
import type { JobError } from './contract/job.js';
import { decodeJobError, encodeJobError, metadataBytes } from './payloads.js';

describe('encodeJobError / decodeJobError', () => {
  it('round-trips a typed error', () => {
    const e: JobError = { type: 'invalid-input', message: 'inputs[0].shape: wrong: "quotes", and maas: prefixes' };
    const s = encodeJobError(e);
    expect(typeof s).toBe('string');
    expect(decodeJobError(s)).toEqual(e);
  });

  it.each(['expired', 'canceled', 'inference-failed', 'worker-lost'] as const)('round-trips type %s', (type) => {
    expect(decodeJobError(encodeJobError({ type, message: 'm' }))).toEqual({ type, message: 'm' });
  });

  it('maps BullMQ\'s own stalled message to worker-lost', () => {
    expect(decodeJobError('job stalled more than allowable limit')).toEqual({
      type: 'worker-lost', message: expect.stringMatching(/interrupted/) as unknown as string,
    });
    expect(decodeJobError('Job Stalled More Than Allowable Limit').type).toBe('worker-lost');
  });

  it('maps any other text to internal, keeping the text', () => {
    expect(decodeJobError('TypeError: boom')).toEqual({ type: 'internal', message: 'TypeError: boom' });
  });

  it('a missing reason is an internal unknown failure', () => {
    expect(decodeJobError(undefined)).toEqual({ type: 'internal', message: 'unknown failure' });
  });

  it('a prefixed reason that is not our JSON falls back to internal with the raw text', () => {
    expect(decodeJobError('maas:{not json')).toEqual({ type: 'internal', message: 'maas:{not json' });
    expect(decodeJobError('maas:{"type":1,"message":"x"}')).toEqual({ type: 'internal', message: 'maas:{"type":1,"message":"x"}' });
    expect(decodeJobError('maas:{"type":"x"}').type).toBe('internal');
  });

  it('does not crash on a prefixed JSON null', () => {
    expect(decodeJobError('maas:null')).toEqual({ type: 'internal', message: 'maas:null' });
  });
});

describe('metadataBytes', () => {
  const note = (n: number) => ({ note: 'x'.repeat(n) }); // JSON: n + 11 bytes
  it("counts a job's metadata and each member's, as JSON", () => {
    expect(metadataBytes({})).toBe(0);
    expect(metadataBytes({ metadata: note(100) })).toBe(111);
    expect(metadataBytes({ members: [{ id: 'a', rows: 1, metadata: note(100) }, { id: 'b', rows: 1 }, { id: 'c', rows: 1, metadata: note(9) }] })).toBe(111 + 20);
    // past a limit, the rest is not counted (more than the limit, less than all)
    expect(metadataBytes({ members: [{ id: 'a', rows: 1, metadata: note(100) }, { id: 'b', rows: 1, metadata: note(100) }, { id: 'c', rows: 1, metadata: note(100) }] }, 150)).toBe(222);
  });
});
