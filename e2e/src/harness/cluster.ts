/**
 * A whole deployment for one test suite: a private redis-server on a free port, the real API
 * process and worker processes built from this repository, on the shipped models (or a
 * temporary repository with overrides). Nothing is mocked.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedis, freePort, SERVICE_NODE_FLAGS, startRedisServer, type RedisServer } from '@maas/shared';
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster.js';
import { startManagedRedis, type ManagedRedisHandle } from './redis-managed.js';
import { API_ENTRY, REPO_ROOT, ServiceProcess, WORKER_ENTRY } from './process.js';

/**
 * The flags a service starts with, as every launcher passes them (SERVICE_NODE_FLAGS);
 * MAAS_API_NODE_FLAGS / MAAS_WORKER_NODE_FLAGS (space-separated, may be empty) replace them,
 * for an A/B bench run.
 */
function serviceFlags(role: 'api' | 'worker'): readonly string[] {
  const override = process.env[role === 'api' ? 'MAAS_API_NODE_FLAGS' : 'MAAS_WORKER_NODE_FLAGS'];
  return override === undefined ? SERVICE_NODE_FLAGS[role] : override.split(' ').filter(Boolean);
}

export interface ClusterOptions {
  models?: string;
  /** extra API environment */
  api?: Record<string, string>;
  /** workers to start with the cluster (default 1) */
  workers?: number;
  worker?: Record<string, string>;
  /** a folder for Redis's append-only file (persistence; with `redisCluster`, each node's under it), or none */
  redisDir?: string;
  /** run on a three-master Redis Cluster instead of one redis-server */
  redisCluster?: boolean;
  /** extra redis-server flags (one redis-server only) */
  redisArgs?: string[];
  /**
   * run on a Redis set up as a managed service (redis-managed.ts): TLS only on a private CA,
   * which the services are told of by NODE_EXTRA_CA_CERTS, and a named ACL user without the
   * admin commands; REDIS_URL is `rediss://user:password@…`. With `redisCluster`, a cluster
   * of such nodes (`rediss://user:password@localhost:port?cluster=true`, redis-cluster.ts)
   */
  redisManaged?: boolean;
  /** extra node flags per role, e.g. `--cpu-prof` for profiling */
  nodeArgs?: { api?: string[]; worker?: string[] };
  /** run the API and workers built in another checkout (A/B benchmarks of two builds) */
  root?: string;
}

export class Cluster {
  readonly workers: ServiceProcess[] = [];
  /** the last API started (startApi again for another instance: every one is stopped with the cluster) */
  api!: ServiceProcess;
  readonly apis: ServiceProcess[] = [];
  url = '';
  /** host:port of the API's gRPC service */
  grpcAddress = '';
  private workerSeq = 0;
  /** the port of every Redis node (one, or the cluster's masters) */
  redisPorts: number[] = [];
  /** a Redis Cluster's masters (kill and restart one), else empty */
  redisNodes: RedisServer[] = [];

  private constructor(readonly redis: RedisServer, private readonly opts: ClusterOptions, readonly managed?: ManagedRedisHandle) {}

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const redisCluster = opts.redisCluster ? await startRedisCluster(3, { managed: opts.redisManaged ?? false, ...(opts.redisDir ? { dataDir: opts.redisDir } : {}) }) : undefined;
    const managed = redisCluster ? redisCluster.managed : opts.redisManaged ? await startManagedRedis() : undefined;
    const redis = redisCluster ? clusterAsServer(redisCluster) : managed ? managed.server : await startRedisServer({ ...(opts.redisDir ? { dir: opts.redisDir } : {}), ...(opts.redisArgs ? { extraArgs: opts.redisArgs } : {}) });
    const c = new Cluster(redis, opts, managed);
    c.redisPorts = redisCluster ? redisCluster.nodes.map((n) => n.port) : [redis.port];
    c.redisNodes = redisCluster?.nodes ?? [];
    try {
      await c.startApi();
      for (let i = 0; i < (opts.workers ?? 1); i++) await c.startWorker();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private get modelsEnv() {
    return {
      MODEL_REPOSITORY: this.opts.models ?? join(REPO_ROOT, 'models'), REDIS_URL: this.redis.url,
      ...(this.managed ? { NODE_EXTRA_CA_CERTS: this.managed.caFile } : {}),
    };
  }

  async startApi(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = await freePort();
    // Each suite's API gets its own gRPC port too, so suites never collide on the 8081 default.
    const grpcPort = await freePort();
    this.api = ServiceProcess.start('api', this.opts.root ? join(this.opts.root, 'apps/api/dist/main.js') : API_ENTRY, {
      ...this.modelsEnv, PORT: String(port), GRPC_PORT: String(grpcPort), HOST: '127.0.0.1', ...this.opts.api, ...env,
    }, [...serviceFlags('api'), ...(this.opts.nodeArgs?.api ?? [])]);
    this.apis.push(this.api);
    this.url = `http://127.0.0.1:${port}`;
    this.grpcAddress = `127.0.0.1:${grpcPort}`;
    await this.api.waitFor(/api listening/);
    return this.api;
  }

  async startWorker(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const id = `wrk_test${++this.workerSeq}`;
    const w = ServiceProcess.start(id, this.opts.root ? join(this.opts.root, 'apps/worker/dist/main.js') : WORKER_ENTRY, {
      ...this.modelsEnv, WORKER_ID: id, WORKER_HEARTBEAT_MS: '500', ...this.opts.worker, ...env,
    }, [...serviceFlags('worker'), ...(this.opts.nodeArgs?.worker ?? [])]);
    this.workers.push(w);
    await w.waitFor(/worker ready|worker started, serving no model/, 60_000);
    return w;
  }

  /** Stops worker `w` and forgets it (`workers` lists the running ones); returns its exit code. */
  async stopWorker(w: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const code = await w.stop(signal);
    this.workers.splice(this.workers.indexOf(w), 1);
    return code;
  }

  /** A client for direct checks (queue contents, Redis state). Caller quits it. */
  redisClient(): Redis {
    return createRedis(this.redis.url, { maxRetriesPerRequest: 1, lazyConnect: false, ...(this.managed ? { tls: this.managed.tls } : {}) });
  }

  /** Stops every process (SIGTERM lets them exit cleanly, e.g. to write a `--cpu-prof` profile), then Redis. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(signal)));
    await Promise.all(this.apis.map((a) => a.stop(signal)));
    await this.redis.stop();
    await this.managed?.remove();
  }

  /** Logs of every process, for a failing test's message. */
  logs(): string {
    return [...this.apis, ...this.workers].map((p) => `--- ${p.name}\n${p.log.slice(-3000)}`).join('\n');
  }
}

/** A Redis Cluster seen through the RedisServer interface the suites use (no kill/restart: `redisNodes` have them). */
function clusterAsServer(c: RedisClusterHandle): RedisServer {
  const unsupported = () => Promise.reject(new Error('kill/restart are for a single redis-server'));
  return {
    url: c.url,
    port: c.nodes[0]!.port,
    get process() {
      return c.nodes[0]!.process;
    },
    stop: () => c.stop(),
    kill: unsupported,
    restart: unsupported,
  };
}
