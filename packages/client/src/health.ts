/** KServe v2 health probes: answered without an API key, so usable before configuring one. */
import type { CallOptions, Transport } from './transport.js';
import type { HealthStatus } from './types.js';

export class Health {
  constructor(private readonly http: Transport) {}

  /** The API process is up. */
  async live(opts: CallOptions = {}): Promise<boolean> {
    const { response } = await this.http.json<unknown>({ method: 'GET', path: '/v2/health/live', acceptStatuses: [503], ...opts });
    return response.ok;
  }

  /**
   * Redis reachable and the repository loaded (workers are not required). A not-ready API
   * answers 503 with the same body: that is an answer, not an error, so it resolves.
   */
  async ready(opts: CallOptions = {}): Promise<HealthStatus> {
    const { body, response } = await this.http.json<HealthStatus | undefined>({ method: 'GET', path: '/v2/health/ready', acceptStatuses: [503], ...opts });
    return { ...body, ready: response.ok && body?.ready !== false };
  }
}
