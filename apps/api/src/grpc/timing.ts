/**
 * gRPC calls in `/metrics`, as REST's are in `maas_http_request_seconds`: one observation a
 * call, from its start to the status it ends with (a ModelStreamInfer stream's whole life), by
 * method and status code name (`OK`, `UNAUTHENTICATED`, …), refusals before a handler ran
 * included. Methods the server does not have are counted as `other` (a client naming methods
 * at random must not make series without end).
 */
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { methodOf } from './authenticate.js';

export function timedCalls(known: ReadonlySet<string>, observe: (method: string, code: string, seconds: number) => void): ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    const name = methodOf(method.path);
    return new ServerInterceptingCall(call, {
      sendStatus: (s, next) => {
        observe(known.has(name) ? name : 'other', Status[s.code] ?? String(s.code), (performance.now() - started) / 1000);
        next(s);
      },
    });
  };
}
