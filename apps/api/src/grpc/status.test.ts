import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { PROBLEMS } from '@maas/shared';
import { grpcDetails, grpcStatusFor, MAX_DETAILS_BYTES } from './status.js';

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

describe('grpcDetails', () => {
  it('keeps a message within the limit as it is, and cuts a longer one saying how much was left out', () => {
    expect(grpcDetails('short')).toBe('short');
    const long = 'x'.repeat(50_000);
    const cut = grpcDetails(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
    expect(cut).toMatch(/^x+… \(48080 more characters\)$/);
  });
  it('counts UTF-8 bytes, not characters, and never cuts between the halves of a surrogate pair', () => {
    for (const text of ['é'.repeat(5000), '🙂'.repeat(10_000)]) {
      expect(Buffer.byteLength(grpcDetails(text))).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
    }
    const emoji = '🙂'.repeat(10_000);
    const cut = grpcDetails(emoji);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/); // no lone surrogate
  });
});
