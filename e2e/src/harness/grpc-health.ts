/**
 * A client of the standard gRPC health-checking protocol (grpc.health.v1), written here from
 * its published definition, as Kubernetes' grpc probes and grpc_health_probe call it.
 */
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}`;

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export class HealthClient {
  private readonly client: Client & Record<string, (...args: unknown[]) => any>;

  constructor(address: string) {
    const dir = mkdtempSync(join(tmpdir(), 'health-proto-'));
    writeFileSync(join(dir, 'health.proto'), HEALTH_PROTO);
    const def = loadSync(join(dir, 'health.proto'), { keepCase: true, enums: String, defaults: true });
    rmSync(dir, { recursive: true });
    const Ctor = ((loadPackageDefinition(def)['grpc'] as GrpcObject)['health'] as GrpcObject)['v1'] as GrpcObject;
    this.client = new (Ctor['Health'] as ServiceClientConstructor)(address, credentials.createInsecure()) as never;
  }

  /** Check: the status, or rejects with the ServiceError (NOT_FOUND for a service it does not know). */
  check(service: string): Promise<ServingStatus> {
    return new Promise((resolve, reject) => {
      this.client['Check']!({ service }, (err: ServiceError | null, res: { status: ServingStatus }) => (err ? reject(err) : resolve(res.status)));
    });
  }

  /** Watch: every status the server sends, until `close` is called; `error` once the call failed (its status code), `ended` once it ended. */
  watch(service: string): { statuses: ServingStatus[]; readonly error: number | undefined; readonly ended: boolean; close(): void } {
    const statuses: ServingStatus[] = [];
    const call = this.client['Watch']!({ service });
    let error: number | undefined;
    let ended = false;
    call.on('data', (res: { status: ServingStatus }) => statuses.push(res.status));
    call.on('error', (err: ServiceError) => (error = err.code));
    call.on('end', () => (ended = true));
    return { statuses, get error() { return error; }, get ended() { return ended; }, close: () => call.cancel() };
  }

  close(): void {
    this.client.close();
  }
}
