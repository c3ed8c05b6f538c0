/**
 * Calls are authenticated from their metadata, before a byte of their messages is read.
 *
 * The handlers learn who calls (callerOf, mayControl) only once grpc-js has received and decoded
 * the whole request message, up to MAX_BODY_MB: without this, anonymous calls of 60 MB each took
 * the API from 165 MB to 1.6 GB before each was answered UNAUTHENTICATED (a security audit). REST
 * refuses such a request from its headers too, without reading its body.
 *
 * grpc-js reads a call's messages only once its handler asks (`startRead`, after the metadata
 * has reached it): a call whose `authorization` is no key this server knows (no tenant's API key,
 * not ADMIN_KEY) never gets there, and ends UNAUTHENTICATED at once. What a known key may do
 * (the admin key runs no job; a tenant's key loads no model) is still the handlers' business.
 * ServerLive, ServerReady and the standard health service (health.ts) need no key, as `/v2/health/*`; without API_KEYS every call is the
 * open mode's tenant, as over REST.
 */
import { ServerInterceptingCall, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import { AppError } from '@maas/shared';
import { isAdminKey } from '../http/admin-auth.js';
import { tenantResolver } from '../http/auth.js';
import { authorizationOf } from './calls.js';

/** The methods any caller may call (health). */
const OPEN_METHODS = new Set(['ServerLive', 'ServerReady']);
/** Every call of the standard health service (health.ts) is open too: probes send no key. */
const OPEN_SERVICE = '/grpc.health.v1.Health/';

/** PURE: whether a call (its gRPC path) needs no key. */
export const isOpenCall = (path: string): boolean => OPEN_METHODS.has(methodOf(path)) || path.startsWith(OPEN_SERVICE);

/** PURE: the method's name in a gRPC path (`/inference.GRPCInferenceService/ModelInfer` → `ModelInfer`). */
export const methodOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * PURE but for its keys: the error a call with `authorization` is refused with before it is
 * read, or undefined when the credential is one this server knows (or none is needed).
 */
export function credentialCheck(apiKeys: Map<string, string> | undefined, adminKey: string | undefined): (authorization: string | undefined) => AppError | undefined {
  const tenant = tenantResolver(apiKeys);
  const admin = isAdminKey(adminKey);
  return (authorization) => {
    if (admin(authorization)) return undefined;
    try {
      tenant(authorization);
      return undefined;
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  };
}

/**
 * The interceptor: refuses a call with an unknown credential from its metadata, with the
 * status `statusOf` makes of the error (the same mapping as the handlers' errors).
 */
export function authenticateFirst(
  check: (authorization: string | undefined) => AppError | undefined,
  statusOf: (err: AppError) => { code: number; details: string; metadata: Metadata },
): ServerInterceptor {
  return (method, call) => {
    if (isOpenCall(method.path)) return new ServerInterceptingCall(call);
    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (metadata, pass) => {
          const refused = check(authorizationOf(metadata));
          if (!refused) return pass(metadata);
          // The handler never hears of the call, so nothing asks for its message: none is read.
          intercepting.sendStatus(statusOf(refused));
        },
      }),
    });
    return intercepting;
  };
}
