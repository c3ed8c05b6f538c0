/**
 * PURE: the HTTP status of a problem → the gRPC status code a client of the same error gets,
 * so both front doors report one closed set of errors (errors.ts) the same way.
 */
import { status as Status } from '@grpc/grpc-js';

const BY_HTTP: Record<number, Status> = {
  400: Status.INVALID_ARGUMENT,
  401: Status.UNAUTHENTICATED,
  403: Status.PERMISSION_DENIED,
  404: Status.NOT_FOUND,
  406: Status.INVALID_ARGUMENT,
  409: Status.ALREADY_EXISTS,
  413: Status.RESOURCE_EXHAUSTED,
  415: Status.INVALID_ARGUMENT,
  429: Status.RESOURCE_EXHAUSTED,
  500: Status.INTERNAL,
  503: Status.UNAVAILABLE,
  504: Status.DEADLINE_EXCEEDED,
};

export function grpcStatusFor(httpStatus: number): Status {
  return BY_HTTP[httpStatus] ?? (httpStatus >= 500 ? Status.INTERNAL : Status.INVALID_ARGUMENT);
}
