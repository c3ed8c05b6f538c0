/**
 * The worker's health port (WORKER_HEALTH_PORT; off while unset): `GET /livez`, `/readyz` and
 * `/startedz` answer 200, or 503 with the reasons (health/verdicts.ts), for Kubernetes' probes;
 * `GET /metrics` is this worker's own Prometheus registry (the API's /metrics merges every
 * worker's already: this is for a Prometheus that scrapes pods), its event-loop delay read as
 * the API's /metrics reads it (without the 100 ms sampling interval). JSON bodies, no
 * authentication: nothing here reveals a tenant's data.
 */
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { forExposition, type Logger } from '@maas/shared';
import { liveness, readiness, started, type Verdict, type WorkerState } from './verdicts.js';

export interface HealthSources {
  workerId: string;
  state: () => WorkerState;
  registry: Registry;
}

/** The registry's text as the API's /metrics gives it (shared process-metrics.ts `forExposition`). */
async function ownMetrics(registry: Registry): Promise<string> {
  return AggregatorRegistry.aggregate([forExposition(await registry.getMetricsAsJSON())] as never).metrics();
}

const json = (workerId: string, status: string, v: Verdict) => JSON.stringify({ status, worker: workerId, ...(v.ok ? {} : { reasons: v.reasons }) });

export async function serveHealth(port: number, host: string, sources: HealthSources, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const known = path === '/livez' || path === '/readyz' || path === '/startedz' || path === '/metrics';
    if (!known) return answer(404, 'application/json', JSON.stringify({ status: 'not found', paths: ['/livez', '/readyz', '/startedz', '/metrics'] }));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return answer(405, 'application/json', JSON.stringify({ status: 'method not allowed' }));
    }
    if (path === '/metrics') {
      ownMetrics(sources.registry).then(
        (text) => answer(200, sources.registry.contentType, text),
        (err: unknown) => answer(500, 'text/plain', `metrics failed: ${(err as Error).message}`),
      );
      return;
    }
    const state = sources.state();
    const [v, good, bad] = path === '/livez' ? [liveness(state), 'live', 'not live']
      : path === '/startedz' ? [started(state), 'started', 'starting'] : [readiness(state), 'ready', 'not ready'];
    answer(v.ok ? 200 : 503, 'application/json', json(sources.workerId, v.ok ? good : bad, v));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  log.info({ port: typeof bound === 'object' && bound ? bound.port : port, host }, 'health port listening (/livez, /readyz, /startedz, /metrics)');
  return server;
}
