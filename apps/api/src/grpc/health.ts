/**
 * The standard gRPC health service (`grpc.health.v1.Health`: Check and Watch), what Kubernetes'
 * `grpc` probes, Envoy and grpc_health_probe ask, served beside ServerReady by grpc-health-check.
 * The server as a whole (`""`) and `inference.GRPCInferenceService` are SERVING while the API is
 * ready (Redis answers and a model is served: what ServerReady and /v2/health/ready say), read
 * every POLL_MS (a Watch hears a change then), and NOT_SERVING from the start of a shutdown.
 * Open without a key, as the other health calls (authenticate.ts).
 */
import type { Server } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { Periodic, type Logger } from '@maas/shared';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
const POLL_MS = 1000;

export class GrpcHealth {
  private readonly impl = new HealthImplementation({ '': 'NOT_SERVING', [INFERENCE_SERVICE]: 'NOT_SERVING' });
  private readonly timer: Periodic;
  private stopped = false;

  constructor(private readonly ready: () => Promise<boolean>, log: Logger) {
    this.timer = new Periodic(() => this.refresh(), POLL_MS, (err) => log.warn({ err }, 'gRPC health: readiness not read'));
  }

  addTo(server: Server): void {
    this.impl.addToServer(server);
  }

  /** Reads readiness once, then every POLL_MS. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer.start();
  }

  /** NOT_SERVING from now on (a shutdown has begun). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.timer.stop();
    this.set('NOT_SERVING');
  }

  private async refresh(): Promise<void> {
    const ready = await this.ready();
    if (!this.stopped) this.set(ready ? 'SERVING' : 'NOT_SERVING');
  }

  private set(status: ServingStatus): void {
    for (const service of ['', INFERENCE_SERVICE]) this.impl.setStatus(service, status);
  }
}
