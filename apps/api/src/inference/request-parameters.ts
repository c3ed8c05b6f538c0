/**
 * PURE: the request parameters of Triton's protocol that a v2 infer acts on (REST `parameters`,
 * gRPC `ModelInferRequest.parameters`), as a `/v1/jobs` create's fields:
 * - `priority`: 0 (or none) is the model's default; 1, 2, … run in that order ahead of the
 *   default, as Triton's priority levels do (lower runs first, as `/v1/jobs` `priority`).
 * - `timeout`, in microseconds: 0 (or none) is none; else the job expires if no worker has
 *   started it by then (`/v1/jobs` `timeout_ms`, rounded up to a whole millisecond), and the
 *   request answers 504 `timeout`, as Triton rejects a request whose timeout passed in its queue.
 * Other parameters are left alone (`binary_data_output` is the front door's; unknown ones are
 * ignored, as Triton passes them to a backend that may not read them).
 */
import { MAX_PRIORITY, MAX_TIMEOUT_MS, ValidationError, type InputIssue } from '@maas/shared';

export interface InferOptions {
  priority?: number;
  timeoutMs?: number;
}

export function inferOptions(parameters: Readonly<Record<string, unknown>> | undefined): InferOptions {
  const issues: InputIssue[] = [];
  const whole = (name: string, max: number): number | undefined => {
    const v = parameters?.[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      issues.push({ path: `parameters.${name}`, message: `must be a whole number from 0 to ${max} (got ${JSON.stringify(v)})` });
      return undefined;
    }
    return v;
  };
  const priority = whole('priority', MAX_PRIORITY);
  const timeoutUs = whole('timeout', MAX_TIMEOUT_MS * 1000);
  if (issues.length) throw new ValidationError(issues);
  return {
    ...(priority ? { priority } : {}),
    ...(timeoutUs ? { timeoutMs: Math.ceil(timeoutUs / 1000) } : {}),
  };
}
