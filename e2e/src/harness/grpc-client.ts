/**
 * A gRPC client generated at run time from the service's .proto (grpc-js + proto-loader), as a
 * user's generated client would be, with promise-returning calls and an optional API key.
 */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { REPO_ROOT } from './process.js';

export const PROTO_FILE = join(REPO_ROOT, 'apps/api/proto/grpc_service.proto');

export class InferenceClient {
  private readonly client: Client & Record<string, (...args: unknown[]) => unknown>;

  /** `options`: more channel options, e.g. `grpc.default_compression_algorithm` to send compressed messages */
  constructor(address: string, private readonly apiKey?: string, options: Record<string, unknown> = {}) {
    const def = loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const Ctor = (loadPackageDefinition(def)['inference'] as GrpcObject)['GRPCInferenceService'] as ServiceClientConstructor;
    this.client = new Ctor(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      ...options,
    }) as never;
  }

  /** Calls `method` (within `deadlineMs` when given); rejects with the ServiceError (its `code` is the gRPC status). */
  call<T = any>(method: string, request: object, apiKey = this.apiKey, deadlineMs?: number): Promise<T> {
    const md = new Metadata();
    if (apiKey) md.set('authorization', credential(apiKey));
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise((resolve, reject) => {
      const fn = this.client[method];
      if (!fn) throw new Error(`no RPC ${method}`);
      fn.call(this.client, request, md, options, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  /**
   * Opens a ModelStreamInfer stream, writes `requests` (then half-closes unless `keepOpen`), and
   * collects the responses until the server ends the stream: its status code (0: OK) and details.
   * `stream` is the call, to write more or cancel it.
   */
  streamInfer(requests: object[], options: { apiKey?: string; keepOpen?: boolean; deadlineMs?: number } = {}) {
    const md = new Metadata();
    const apiKey = options.apiKey ?? this.apiKey;
    if (apiKey) md.set('authorization', credential(apiKey));
    const fn = this.client['ModelStreamInfer']!;
    const stream = fn.call(this.client, md, options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs }) as ClientDuplexStream<object, any>;
    const responses: any[] = [];
    stream.on('data', (r: unknown) => responses.push(r));
    const done = new Promise<{ responses: any[]; code: number; details: string }>((resolve) => {
      stream.on('status', (s: StatusObject) => resolve({ responses, code: s.code, details: s.details }));
      stream.on('error', () => {}); // the status says it
    });
    for (const r of requests) stream.write(r);
    if (!options.keepOpen) stream.end();
    return { stream, responses, done };
  }

  close(): void {
    this.client.close();
  }
}

/** A key as a Bearer credential; a whole credential (`Basic …`, `Bearer …`) as it is. */
const credential = (apiKey: string) => (/^(Basic|Bearer) /.test(apiKey) ? apiKey : `Bearer ${apiKey}`);
