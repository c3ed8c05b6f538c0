/** The Open Inference Protocol's gRPC service definition, loaded from apps/api/proto (shipped beside dist/). */
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { inferRequestBoundsProblem, SMALL_REQUEST_MAX } from './wire-bounds.js';

/** The methods whose requests are ModelInferRequests (the rest carry a few names). */
const INFER_METHODS = new Set(['ModelInfer', 'ModelStreamInfer']);

/** apps/api/proto/grpc_service.proto, from src/grpc or dist/grpc alike. */
export const PROTO_PATH = fileURLToPath(new URL('../../proto/grpc_service.proto', import.meta.url));

/**
 * snake_case field names as the .proto spells them (so the REST views serve both), int64 as
 * numbers, empty fields present, and the set member of each oneof named in `*_choice`.
 */
export const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

export function inferenceService(options: typeof LOADER_OPTIONS | typeof SERVER_LOADER_OPTIONS = LOADER_OPTIONS): ServiceClientConstructor {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, options))['inference'] as GrpcObject;
  return pkg['GRPCInferenceService'] as ServiceClientConstructor;
}

/**
 * The server decodes requests' int64 fields as decimal strings: a number would round an
 * INT64/UINT64 value past 2^53 in `int64_contents` (shapes and parameters are read with Number).
 * Answers are encoded from numbers or such strings alike.
 */
export const SERVER_LOADER_OPTIONS = { ...LOADER_OPTIONS, longs: String } as const;

/**
 * A request whose bytes do not decode as its message type; the handler answers INVALID_ARGUMENT.
 * On a stream, also one whose decompression failed (`failure`: the status grpc-js would have
 * ended the whole stream with; inflation.ts), so that one message fails, not the stream.
 */
export class MalformedMessage {
  constructor(
    readonly reason: string,
    readonly failure?: { code: number; details: string },
    /** a bound its wire bytes passed (wire-bounds.ts), not broken bytes: answered as the bound's issue */
    readonly bound = false,
  ) {}
}

/** Stand-ins for messages of a stream whose decompression failed, with why (see `failedMessage`). */
const FAILED = new WeakMap<Buffer, { code: number; details: string }>();

/** A stand-in for a stream's message that could not be decompressed: it decodes to a MalformedMessage saying why. */
export function failedMessage(status: { code: number; details: string }): Buffer {
  const stand = Buffer.alloc(0);
  FAILED.set(stand, status);
  return stand;
}

/**
 * The service definition for the server, whose request decoding never throws: grpc-js answers
 * a message that fails to decode (truncated, wrong wire types) with INTERNAL, a server fault;
 * a client's broken bytes are its own, so they decode to a MalformedMessage instead.
 *
 * The bytes are decoded as a plain Uint8Array, not the Buffer grpc-js hands over: protobufjs
 * reads a Buffer's string fields without checking their length against the message (a string
 * cut short by the end of the bytes decodes as the part that is there, so a truncated message
 * was answered OK), a Uint8Array's with that check. Its bytes fields (`raw_input_contents`)
 * come back as views of the message, made Buffers again (no copy).
 */
export function tolerantService(): ServiceDefinition {
  const service = inferenceService(SERVER_LOADER_OPTIONS).service;
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [name, {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        const failure = FAILED.get(bytes);
        if (failure) return new MalformedMessage(failure.details, failure);
        // Bounded from the wire bytes before protobufjs builds anything (wire-bounds.ts).
        const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const bound = INFER_METHODS.has(name) ? inferRequestBoundsProblem(view) : bytes.byteLength > SMALL_REQUEST_MAX ? `a ${name} request is at most ${SMALL_REQUEST_MAX} bytes` : undefined;
        if (bound) return new MalformedMessage(bound, undefined, true);
        try {
          const message: unknown = method.requestDeserialize(view as Buffer);
          return withBufferContents(message);
        } catch (err) {
          return new MalformedMessage((err as Error).message);
        }
      },
    }]),
  );
}

/** A decoded ModelInferRequest's `raw_input_contents` as Buffers (views of the same bytes); other messages as they are. */
function withBufferContents(message: unknown): unknown {
  const raw = (message as { raw_input_contents?: unknown } | null)?.raw_input_contents;
  if (!Array.isArray(raw)) return message;
  return { ...(message as object), raw_input_contents: raw.map((b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))) };
}
