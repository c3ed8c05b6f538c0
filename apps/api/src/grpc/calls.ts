/**
 * What every gRPC handler needs of its call: who is calling (from the `authorization`
 * metadata), the deadline, and the status an error ends the call with (the same typed errors as
 * REST, mapped by status.ts).
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import { AppError, ValidationError } from '@maas/shared';
import type { Deps } from '../deps.js';
import { ADMIN_KEY_RUNS_NOTHING, ADMIN_TENANT, isAdminKey } from '../http/admin-auth.js';
import { tenantResolver } from '../http/auth.js';
import { logServerProblem, toAppError } from '../http/problem.js';
import { refusalOf } from '../http/refusals.js';
import type { MalformedMessage } from './proto.js';
import { grpcDetails, grpcStatusFor } from './status.js';

/**
 * Who a call is, from its `authorization` metadata: a tenant (rate-limited), or ADMIN_TENANT
 * for the admin key where it may read models (`modelRead`), else PERMISSION_DENIED (as over
 * REST: http/admin-auth.ts `adminReadsModels`). Thrown errors are the call's status.
 */
export function callerOf(deps: Deps, modelRead = false): (authorization: string | undefined) => string {
  const resolveTenant = tenantResolver(deps.config.API_KEYS);
  const admin = isAdminKey(deps.config.ADMIN_KEY);
  return (auth) => {
    if (!admin(auth)) return resolveTenant(auth);
    if (modelRead) return ADMIN_TENANT;
    throw ADMIN_KEY_RUNS_NOTHING(); // PERMISSION_DENIED: the key is known, and not a tenant's
  };
}

/**
 * The `authorization` metadata value of a call; with several, one no key matches (the call is
 * UNAUTHENTICATED where keys are set: two credentials are refused, not one picked, as over REST).
 */
export function authorizationOf(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  if (values.length > 1) return 'several authorization values';
  const first = values[0];
  return typeof first === 'string' ? first : first?.toString();
}

/** What a call's wait is bounded by: `signal` (the client cancels), and its deadline as ms from now (none: no `timeoutMs`). */
export function limitOf<S>(signal: S, deadline: Date | number): { signal: S; timeoutMs?: number } {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? { signal, timeoutMs: at - Date.now() } : { signal };
}

/**
 * The status an error ends a call with (logged when it is no client's fault); a refusal
 * (RESOURCE_EXHAUSTED of a 429 type) is counted under `tenant`, as REST's problem handler counts it.
 */
export function errorStatus(deps: Deps, err: unknown, tenant?: string): { code: Status; details: string; metadata: Metadata } {
  const app = toAppError(err);
  if (!app) deps.log.error({ err }, 'unhandled gRPC error');
  else logServerProblem(deps.log, app, err);
  const refused = app && refusalOf(app, tenant);
  if (refused) deps.metrics.refused.inc(refused);
  const trailers = new Metadata();
  for (const [k, v] of Object.entries(app?.headers ?? {})) trailers.set(k.toLowerCase(), v);
  return { code: app ? grpcStatusFor(app.status) : Status.INTERNAL, details: app ? grpcDetails(app.detail) : 'An internal error occurred; it has been logged.', metadata: trailers };
}

/** A message whose bytes did not decode or decompress (proto.ts), as the error its call answers. */
export function malformed(m: MalformedMessage): AppError {
  if (m.failure) return new AppError(m.failure.code === Status.RESOURCE_EXHAUSTED ? 'payload-too-large' : 'malformed-body', m.failure.details);
  if (m.bound) {
    const colon = m.reason.indexOf(': ');
    return new ValidationError([colon > 0 ? { path: m.reason.slice(0, colon), message: m.reason.slice(colon + 2) } : { path: '', message: m.reason }]);
  }
  return new ValidationError([{ path: '', message: `the request is not a valid protobuf message of its type (${m.reason})` }]);
}

