/**
 * How BullMQ retries an inference job or batch chunk whose run failed retryably (a session
 * thread lost, Redis gone mid-run; a model's own error never retries): JOB_ATTEMPTS runs in
 * all, RETRY_BACKOFF apart (1 s, then 2 s). Both kinds of job are queued so (jobs.ts,
 * batches.ts: their `attempts` option, which main.ts sets to JOB_ATTEMPTS).
 */
export const JOB_ATTEMPTS = 3;
export const RETRY_BACKOFF = { type: 'exponential', delay: 1000 } as const;
