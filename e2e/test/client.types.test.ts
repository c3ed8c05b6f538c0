/**
 * The SDK's types against the service's own (typechecked: `npm run typecheck` compiles this
 * file, so a drift between @maas/client's hand-written types and @maas/shared's contract types
 * fails the build). The SDK does not depend on @maas/shared, so the check lives here.
 */
import { describe, expect, it } from 'vitest';
import type { Batch, Job } from '@maas/client';
import type { BatchObject, JobObject } from '@maas/shared';

/** Compiles only when a `Service` value may be used where the SDK's `Sdk` type is expected. */
const sdkAccepts = <Sdk, Service extends Sdk>(value: Service): Sdk => value;
/** `T`'s named fields (the SDK's Batch also lets a caller read fields it does not know). */
type Named<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

describe("the SDK's types", () => {
  it('accept every job and batch object the service sends', () => {
    const job = { id: 'job_1' } as JobObject;
    const batch = { id: 'batch_1' } as BatchObject;
    expect(sdkAccepts<Job, JobObject>(job).id).toBe('job_1');
    expect(sdkAccepts<Named<Batch>, BatchObject>(batch).id).toBe('batch_1');
  });
});
