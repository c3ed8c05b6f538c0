/**
 * Compressed gRPC messages (`grpc-encoding: gzip` or `deflate`, as Triton's clients may send
 * them) decompressed INFLATION_SLOTS at a time across every call, as REST bodies are
 * (http/compressed-body.ts).
 *
 * Why: grpc-js decompresses a message as soon as its compressed bytes are in, up to
 * `grpc.max_receive_message_length` (MAX_BODY_MB) each, and any number of calls at once. A gzip
 * bomb makes 60 MB from 61 KB: sixteen at once took the API to 1.4 GB, thirty-two to 2.5 GB.
 * Here, what bombs hold at once is INFLATION_SLOTS messages' worth, however many arrive. A slot
 * is taken once the compressed message is all in (grpc-js calls decompressMessage then) and
 * given back once it is decompressed, so a client that sends slowly holds none, and a call
 * cancelled while it waits is not decompressed at all. Uncompressed messages never wait.
 *
 * grpc-js has no option for this: a server interceptor (public) is given grpc-js's own call
 * (BaseServerInterceptingCall) before any of its bytes are read, and replaces that call's
 * decompressMessage (private: declared by grpc-js without its type, so an upgrade that renames
 * it fails the typecheck, and `hookable` is checked at start) with one that waits for a slot.
 */
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { INFLATION_SLOTS, slots } from '../http/compressed-body.js';

/** grpc-js's: the framed message (5-byte prefix) and the call's encoding → the message's bytes; rejects with a status object. */
type Decompress = (message: Buffer, encoding: string) => Buffer | Promise<Buffer>;

/** The encodings grpc-js decompresses (it answers UNIMPLEMENTED to the others at once). */
const INFLATED = new Set(['gzip', 'deflate']);

/** Whether grpc-js's call still has the private members the interceptor replaces and reads (checked at start). */
export function hookable(): boolean {
  return typeof BaseServerInterceptingCall.prototype['decompressMessage'] === 'function';
}

/**
 * PURE but for `slot`: `decompress` behind a slot for gzip and deflate; `cancelled` is asked
 * once the slot is had, and a call cancelled meanwhile is refused instead of decompressed.
 * A message that cannot be decompressed (corrupt, truncated, or past the size limit) is the
 * call's status (grpc-js ends the call with it), or, given `failed`, what `failed` makes of
 * that status: on a stream, a stand-in for that one message (proto.ts `failedMessage`).
 */
export function bounded(
  decompress: Decompress,
  slot: () => Promise<() => void>,
  cancelled: () => boolean,
  failed?: (status: { code: number; details: string }) => Buffer,
): Decompress {
  return (message, encoding) => {
    if (!INFLATED.has(encoding)) return decompress(message, encoding);
    return slot().then(async (release) => {
      try {
        if (cancelled()) throw { code: Status.CANCELLED, details: 'call cancelled before its message was decompressed' };
        return await decompress(message, encoding);
      } catch (err) {
        let status = err as { code?: number; details?: string };
        // grpc-js answers a corrupt or truncated message INTERNAL, as if the fault were ours: it
        // is the client's, as REST's 400 malformed-body says for the same bytes.
        if (status.code === Status.INTERNAL) status = { code: Status.INVALID_ARGUMENT, details: `the ${encoding} message is corrupt or truncated` };
        if (failed && (status.code === Status.INVALID_ARGUMENT || status.code === Status.RESOURCE_EXHAUSTED)) {
          return failed({ code: status.code, details: String(status.details ?? '') });
        }
        throw status;
      } finally {
        release();
      }
    });
  };
}

/**
 * The interceptor: every call's compressed messages share the slots of `slot` (INFLATION_SLOTS
 * of them); on streams of requests, `failed` stands in for a message that cannot be decompressed.
 * It must be the server's first interceptor: only grpc-js's own call has the member it replaces
 * (a later one is given another interceptor's call, and would bound nothing).
 */
export function inflationSlots(slot: () => Promise<() => void> = slots(INFLATION_SLOTS), failed?: (status: { code: number; details: string }) => Buffer): ServerInterceptor {
  return (method, call) => {
    if (call instanceof BaseServerInterceptingCall) {
      const original = (call['decompressMessage'] as Decompress).bind(call);
      // On a stream of requests, one that cannot be decompressed fails alone (given `failed`): the
      // answers due to the others on the stream would be lost with the call.
      call['decompressMessage'] = bounded(original, slot, () => call['cancelled'] === true, method.requestStream ? failed : undefined);
    }
    return new ServerInterceptingCall(call);
  };
}
