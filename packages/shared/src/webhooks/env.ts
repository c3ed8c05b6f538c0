/** zod readers of the webhook environment variables (CONTRACT §1), for the API and worker configs. */
import { z } from 'zod';
import { parsedEnv } from '../env.js';
import { parseSchedule, STANDARD_RETRY_SCHEDULE_MS } from './schedule.js';
import { secretProblem } from './sign.js';

/** `WEBHOOK_SECRET`: `whsec_` + base64; empty counts as unset. Messages never echo the value. */
export const WebhookSecretEnv = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z
    .string()
    .superRefine((s, ctx) => {
      const problem = secretProblem(s.trim());
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((s) => s.trim())
    .optional(),
);

/** `WEBHOOK_RETRY_SCHEDULE`: delays between attempts, e.g. `5s,5m,30m`; default Standard Webhooks'. */
export const RetryScheduleEnv = parsedEnv(parseSchedule).default([...STANDARD_RETRY_SCHEDULE_MS]);
