/**
 * A gRPC client generated at run time from the service's .proto (grpc-js + proto-loader), as a
 * user's generated client would be, with promise-returning calls and an optional API key.
 */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
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
    if (apiKey) md.set('authorization', `Bearer ${apiKey}`);
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise((resolve, reject) => {
      const fn = this.client[method];
      if (!fn) throw new Error(`no RPC ${method}`);
      fn.call(this.client, request, md, options, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.client.close();
  }
}
