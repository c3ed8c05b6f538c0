/** zod readers of the webhook environment variables (CONTRACT §1), for the API and worker configs. */
import { z } from 'zod';
import { parsedEnv } from '../env.js';
import { parseSchedule, STANDARD_RETRY_SCHEDULE_MS } from './schedule.js';
import { MAX_PREVIOUS_SECRETS } from './secret-ring.js';
import { secretProblem } from './sign.js';

/**
 * `WEBHOOK_SECRET`: `whsec_` + base64; empty counts as unset. Several, separated by spaces or
 * commas, rotate it: the first is current, the others keep signing beside it (each delivery
 * carries a signature per secret) until they are taken out; at most 1 + MAX_PREVIOUS_SECRETS.
 * Messages never echo a value.
 */
export const WebhookSecretEnv = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z
    .string()
    .transform((s) => s.split(/[\s,]+/).filter((x) => x.length > 0))
    .superRefine((secrets, ctx) => {
      if (secrets.length > 1 + MAX_PREVIOUS_SECRETS) {
        ctx.addIssue({ code: 'custom', message: `at most ${1 + MAX_PREVIOUS_SECRETS} secrets (the current one first, then those still signing), not ${secrets.length}` });
      }
      secrets.forEach((secret, i) => {
        const problem = secretProblem(secret);
        if (problem) ctx.addIssue({ code: 'custom', message: secrets.length > 1 ? `secret ${i + 1} of ${secrets.length}: ${problem}` : problem });
      });
    })
    .optional(),
);

/** `WEBHOOK_RETRY_SCHEDULE`: delays between attempts, e.g. `5s,5m,30m`; default Standard Webhooks'. */
export const RetryScheduleEnv = parsedEnv(parseSchedule).default([...STANDARD_RETRY_SCHEDULE_MS]);
