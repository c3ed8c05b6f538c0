import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '@maas/shared';
import { grpcStatusFor } from './status.js';

describe('grpcStatusFor', () => {
  it('mirrors the HTTP errors', () => {
    expect(grpcStatusFor(400)).toBe(status.INVALID_ARGUMENT);
    expect(grpcStatusFor(401)).toBe(status.UNAUTHENTICATED);
    expect(grpcStatusFor(404)).toBe(status.NOT_FOUND);
    expect(grpcStatusFor(429)).toBe(status.RESOURCE_EXHAUSTED);
    expect(grpcStatusFor(503)).toBe(status.UNAVAILABLE);
    expect(grpcStatusFor(504)).toBe(status.DEADLINE_EXCEEDED);
  });
  it('has a code for every problem type, never OK', () => {
    for (const { status: http } of Object.values(PROBLEMS)) expect(grpcStatusFor(http)).not.toBe(status.OK);
  });
});
