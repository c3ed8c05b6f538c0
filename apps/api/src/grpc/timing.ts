/**
 * gRPC calls in `/metrics`, as REST's are in `maas_http_request_seconds`: one observation a
 * call, from its start to its end (a ModelStreamInfer stream's whole life), by method and status
 * code name (`OK`, `UNAUTHENTICATED`, …): the status it is sent, the key refusals of the
 * interceptors after this one included; or `CANCELLED` (`DEADLINE_EXCEEDED` once its deadline
 * has passed) for a call that ends without one (a client gone, a deadline grpc-js itself
 * enforced). What grpc-js answers before any interceptor runs (a method it does not have, a
 * message it cannot decode or that is too large) is not counted.
 */
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { methodOf } from './authenticate.js';

export function timedCalls(known: ReadonlySet<string>, observe: (method: string, code: string, seconds: number) => void): ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    const name = methodOf(method.path);
    let counted = false;
    const count = (code: string) => {
      if (counted) return;
      counted = true;
      observe(known.has(name) ? name : 'other', code, (performance.now() - started) / 1000);
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({
        onCancel: () => {
          const deadline = call.getDeadline();
          const past = deadline instanceof Date ? deadline.getTime() : Number(deadline);
          count(Number.isFinite(past) && Date.now() >= past ? 'DEADLINE_EXCEEDED' : 'CANCELLED');
        },
      }),
      sendStatus: (s, next) => {
        count(Status[s.code] ?? String(s.code));
        next(s);
      },
    });
  };
}
