/**
 * The standard gRPC health service (`grpc.health.v1.Health`: Check, Watch and List), what
 * Kubernetes' `grpc` readiness probes, Envoy and grpc_health_probe ask, served beside ServerReady
 * (its definition from grpc-health-check, its calls here). The server as a whole (`""`) and
 * `inference.GRPCInferenceService` are SERVING while the API is ready (Redis answers: what
 * ServerReady and /v2/health/ready say), read every POLL_MS (a Watch hears a
 * change then), and NOT_SERVING from the start of a shutdown, when every Watch is ended (an
 * open one would otherwise hold the server's graceful stop to its grace). A readiness signal:
 * NOT_SERVING while Redis does not answer, so not for a liveness probe (the process lives).
 * Open without a key, as the other health calls (authenticate.ts).
 */
import { status as Status, type Server, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { service as healthService, type ServingStatus } from 'grpc-health-check';
import { Periodic, type Logger } from '@maas/shared';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';

/** The health service's methods (counted by name in `/metrics`, grpc/timing.ts). */
export const GRPC_HEALTH_METHODS = ['Check', 'Watch', 'List'] as const;
const SERVICES = new Set(['', INFERENCE_SERVICE]);
const POLL_MS = 1000;
/**
 * Watches open at once, over all clients (they need no key): one costs about 7 KB, and a probe
 * needs one or two (Kubernetes' and grpc_health_probe's use Check); past this a Watch is refused
 * RESOURCE_EXHAUSTED (20,000 of them held 230 MB). Under the 1,000 calls one connection carries.
 */
export const MAX_WATCHES = 500;

type Request = { service: string };
type Response = { status: ServingStatus | 'SERVICE_UNKNOWN' };

export class GrpcHealth {
  private status: ServingStatus = 'NOT_SERVING';
  /** open Watches, and whether each names a service of ours (an unknown one hears SERVICE_UNKNOWN once, and stays open as the protocol says) */
  private readonly watches = new Map<ServerWritableStream<Request, Response>, boolean>();
  private readonly timer: Periodic;
  private stopped = false;

  constructor(private readonly ready: () => Promise<boolean>, log: Logger) {
    this.timer = new Periodic(() => this.refresh(), POLL_MS, (err) => log.warn({ err }, 'gRPC health: readiness not read'));
  }

  addTo(server: Server): void {
    server.addService(healthService, {
      check: (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => {
        if (SERVICES.has(call.request.service)) callback(null, { status: this.status });
        else callback({ code: Status.NOT_FOUND, details: `no health status for service '${call.request.service}'` });
      },
      watch: (call: ServerWritableStream<Request, Response>) => {
        const known = SERVICES.has(call.request.service);
        if (this.stopped) {
          call.write({ status: known ? 'NOT_SERVING' : 'SERVICE_UNKNOWN' });
          return void call.end();
        }
        if (this.watches.size >= MAX_WATCHES) {
          return void call.emit('error', { code: Status.RESOURCE_EXHAUSTED, details: `${MAX_WATCHES} health Watches are open: use Check, or try again later` });
        }
        // Every Watch is held, an unknown service's too, so that a shutdown ends it (left out, it held the stop to its grace).
        this.watches.set(call, known);
        call.on('cancelled', () => this.watches.delete(call));
        call.write({ status: known ? this.status : 'SERVICE_UNKNOWN' });
      },
      list: (_call: ServerUnaryCall<object, unknown>, callback: sendUnaryData<unknown>) => {
        callback(null, { statuses: Object.fromEntries([...SERVICES].map((s) => [s, { status: this.status }])) });
      },
    });
  }

  /** Reads readiness once, then every POLL_MS. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer.start();
  }

  /** NOT_SERVING from now on (a shutdown has begun): every Watch hears it and is ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.timer.stop();
    this.set('NOT_SERVING');
    for (const call of this.watches.keys()) call.end();
    this.watches.clear();
  }

  private async refresh(): Promise<void> {
    const ready = await this.ready();
    if (!this.stopped) this.set(ready ? 'SERVING' : 'NOT_SERVING');
  }

  private set(status: ServingStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const [call, known] of this.watches) if (known) call.write({ status });
  }
}
