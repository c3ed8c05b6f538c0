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
 * The most UTF-8 bytes of a status message (`grpc-message`, a trailer) a call answers with.
 * gRPC clients limit the size of headers (grpcio's default: 8 KB of metadata), and grpc-js never
 * sends a trailer past its peer's limit: the call then goes unanswered and holds up the calls
 * behind it on the connection. A request with thousands of problems (every one is listed) would
 * make such a message. The trailer carries the message percent-encoded, so other than printable
 * ASCII a byte takes three: 2,000 bytes stay within 6,000.
 */
export const MAX_DETAILS_BYTES = 2000;

/** `text` as a status message: cut to MAX_DETAILS_BYTES of UTF-8 (between characters), saying how much was left out. */
export function grpcDetails(text: string): string {
  if (Buffer.byteLength(text) <= MAX_DETAILS_BYTES) return text;
  const budget = MAX_DETAILS_BYTES - 80;
  let bytes = 0;
  let cut = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > budget) break;
    bytes += size;
    cut += ch.length;
  }
  return `${text.slice(0, cut)}… (${text.length - cut} more characters)`;
}
