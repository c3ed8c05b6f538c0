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

/**
 * The longest status message (`grpc-message`, a trailer) a call answers with. gRPC clients
 * limit the size of headers (grpcio's default: 8 KB of metadata), and grpc-js never sends a
 * trailer past its peer's limit: the call then goes unanswered and holds up the calls behind
 * it on the connection. A request with thousands of problems (every one is listed) would make
 * such a message.
 */
export const MAX_DETAILS_CHARS = 2000;

/** `text` as a status message: cut to MAX_DETAILS_CHARS, saying how much was left out. */
export function grpcDetails(text: string): string {
  if (text.length <= MAX_DETAILS_CHARS) return text;
  let cut = MAX_DETAILS_CHARS - 80;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--; // not between the halves of a surrogate pair
  return `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
}
