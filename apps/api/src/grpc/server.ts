/**
 * The KServe v2 gRPC service (`inference.GRPCInferenceService`) on GRPC_PORT, served by the
 * API process beside REST, through the same services: ModelInfer is a job through the same
 * JobService (validation, queue, micro-batcher) as POST /v2/.../infer, and so is each request
 * of a ModelStreamInfer stream (stream-infer.ts). Errors are the same typed errors, mapped to
 * status codes by grpc/status.ts (grpc/calls.ts); API keys come as `authorization: Bearer
 * <key>` metadata (or Basic, the key its password: http/auth.ts) (ServerLive and ServerReady need none, like /v2/health/*), and a key the
 * server does not know is refused before the call's message is read (authenticate.ts).
 */
import { Server, ServerCredentials, setLogger, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { AppError, DEFAULT_TENANT, hostPort, megabytes, NotFoundError, ValidationError } from '@maas/shared';
import type { Deps } from '../deps.js';
import { LOAD_READY_WAIT_MS } from '../services/workers.js';
import { ADMIN_TENANT, repositoryControl } from '../http/admin-auth.js';
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION } from '../server-info.js';
import { kserveMetadata } from '../views/model.js';
import { tritonConfig } from '../views/triton-config.js';
import { authenticateFirst, credentialCheck } from './authenticate.js';
import { hookable, inflationSlots } from './inflation.js';
import { failedMessage, MalformedMessage, tolerantService } from './proto.js';
import { authorizationOf, callerOf, errorStatus, limitOf, malformed } from './calls.js';
import { OpenStreams, streamInfer } from './stream-infer.js';
import { fromInferRequest, toInferResponse, type GrpcInferRequest } from './tensors.js';
import { GRPC_HEALTH_METHODS, GrpcHealth } from './health.js';
import { timedCalls } from './timing.js';
import { limitConnections } from './connection-limits.js';
import { Stop, type StopSignal } from '../services/stop-signal.js';

/**
 * `tenant()` authenticates the call (and counts it against the tenant's rate limit); `limit`
 * is the client's deadline and a signal aborted when the client cancels.
 */
type Handler = (
  req: Record<string, unknown>,
  tenant: () => Promise<string>,
  limit: { timeoutMs?: number; signal: StopSignal },
  authorization: string | undefined,
) => Promise<unknown>;

interface NameVersion {
  name: string;
  version: string;
}

/** A unary handler: resolves the tenant lazily (health needs none) and maps errors to statuses. */
function unary(deps: Deps, handler: Handler, modelRead = false) {
  const resolve = callerOf(deps, modelRead);
  return (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
    const auth = authorizationOf(call.metadata);
    let caller: string | undefined; // once resolved: a refusal (maas_requests_refused_total) is counted under it
    const tenant = async () => {
      const who = resolve(auth);
      caller = who;
      await deps.rateLimit(who);
      return who;
    };
    const cancelled = new Stop();
    call.on('cancelled', () => cancelled.stop());
    const limit = limitOf(cancelled, call.getDeadline());
    const request = call.request;
    const handled = request instanceof MalformedMessage ? Promise.reject(malformed(request)) : handler(request, tenant, limit, auth);
    handled.then(
      (res) => callback(null, res),
      (err: unknown) => callback(errorStatus(deps, err, caller)),
    );
  };
}

function handlers(deps: Deps, streams: OpenStreams): UntypedServiceImplementation {
  const { catalog, inference, workers, stats, repository, health } = deps;
  const h = (fn: Handler) => unary(deps, fn);
  const read = (fn: Handler) => unary(deps, fn, true);
  const control = repositoryControl(deps.config.ADMIN_KEY, deps.config.API_KEYS);
  /** Loading and unloading: ADMIN_KEY's once keys are set, as over REST (http/admin-auth.ts). */
  const mayControl = async (authorization: string | undefined) => {
    const access = control(authorization);
    if (access instanceof AppError) throw access;
    await deps.rateLimit(access === 'admin' ? ADMIN_TENANT : DEFAULT_TENANT);
  };
  // Empty or "-1" (Triton's gRPC reads the version with stol, and -1 asks the server to choose): the version the policy serves.
  const version = (v: string) => (v === '' || v === '-1' ? undefined : v);
  /** One ModelInferRequest of `who`, a job through the same path as REST's v2 infer. */
  const infer = async (r: GrpcInferRequest, who: string, limit: { timeoutMs?: number; signal: StopSignal }) => {
    const parsed = fromInferRequest(r);
    const result = await inference.infer(who, {
      model: named(r.model_name, 'model_name'), version: version(r.model_version), id: parsed.id, inputs: parsed.inputs, outputs: parsed.outputs, options: parsed.options,
    }, undefined, limit);
    return toInferResponse({ model_name: result.model_name, model_version: result.model_version, id: result.id }, result.outputs, parsed.raw);
  };
  /** A model's name, required: a message that decodes to none (an empty one, or bytes of no field it has) is INVALID_ARGUMENT, not an unknown model ''. */
  const named = (name: string | undefined, field = 'name'): string => {
    if (!name) throw new ValidationError([{ path: field, message: 'is required (a model name)' }]);
    return name;
  };
  return {
    ServerLive: h(async () => ({ live: true })),
    ServerReady: h(async () => ({ ready: (await health()).ready })),
    ServerMetadata: read(async (_req, tenant) => {
      await tenant();
      return { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS };
    }),
    ModelReady: read(async (req, tenant) => {
      await tenant();
      const { name, version: v } = req as unknown as NameVersion;
      // Triton answers ready: false (not NOT_FOUND) for a model it does not serve: clients poll it.
      let resolved;
      try {
        resolved = catalog.resolve(name, version(v));
      } catch (err) {
        if (err instanceof NotFoundError) return { ready: false };
        throw err;
      }
      const { model, version: mv } = resolved;
      const counts = await workers.servingCounts(model.name);
      return { ready: (version(v) ? counts.get(mv.version) ?? 0 : Math.max(0, ...counts.values())) > 0 };
    }),
    ModelMetadata: read(async (req, tenant) => {
      await tenant();
      const { name, version: v } = req as unknown as NameVersion;
      const { model, version: mv } = catalog.resolve(named(name), version(v));
      const { parameters: _p, ...meta } = kserveMetadata(model, v ? mv : undefined);
      return meta;
    }),
    ModelConfig: read(async (req, tenant) => {
      await tenant();
      const { name, version: v } = req as unknown as NameVersion;
      const { model, version: mv } = catalog.resolve(named(name), version(v));
      return { config: tritonConfig(model, mv, await workers.provider(model.name, mv.version)) };
    }),
    ModelStatistics: read(async (req, tenant) => {
      await tenant();
      const { name, version: v } = req as unknown as NameVersion;
      return { model_stats: await stats.read(name || undefined, version(v)) };
    }),
    RepositoryIndex: read(async (req, tenant) => {
      await tenant();
      return { models: (await repository.index(Boolean(req['ready']))).map((e) => ({ ...e, version: e.version ?? '' })) };
    }),
    RepositoryModelLoad: h(async (req, _tenant, _limit, authorization) => {
      await mayControl(authorization);
      await workers.untilServed(await repository.load(String(req['model_name']), Object.keys((req['parameters'] as object | undefined) ?? {})), LOAD_READY_WAIT_MS);
      return {};
    }),
    RepositoryModelUnload: h(async (req, _tenant, _limit, authorization) => {
      await mayControl(authorization);
      await repository.unload(String(req['model_name']));
      return {};
    }),
    ModelInfer: h(async (req, tenant, limit) => infer(req as unknown as GrpcInferRequest, await tenant(), limit)),
    ModelStreamInfer: streamInfer(deps, infer, streams),
  };
}

const MAX_STREAMS_A_CONNECTION = 1000;
/** How long a new connection has to begin HTTP/2 (as HTTP's headers timeout, 30 s, bounds a request's start; IDLE_TIMEOUT_S if shorter). */
const PREFACE_DEADLINE_S = 30;

/**
 * The running gRPC server; `close()` stops taking calls, has open streams answer what they took
 * and end, and lets calls in flight finish (at most `graceMs`: then they are cut).
 */
export class GrpcFrontDoor {
  private constructor(private readonly server: Server, readonly port: number, private readonly streams: OpenStreams, private readonly health: GrpcHealth) {}

  static async start(deps: Deps, host: string, port: number): Promise<GrpcFrontDoor> {
    const max = megabytes(deps.config.MAX_BODY_MB);
    // grpc-js's own lines (an address it could not bind, …) go to our JSON log, not to stderr as plain text.
    const line = (...args: unknown[]) => args.map(String).join(' ');
    setLogger({ error: (...a: unknown[]) => deps.log.warn({ grpc: line(...a) }, 'grpc-js'), info: (...a: unknown[]) => deps.log.info({ grpc: line(...a) }, 'grpc-js'), debug: (...a: unknown[]) => deps.log.debug({ grpc: line(...a) }, 'grpc-js') });
    if (!hookable()) throw new Error('@grpc/grpc-js changed: its server call no longer has decompressMessage, which grpc/inflation.ts bounds (gzip bombs); see that file');
    const streams = new OpenStreams();
    const service = handlers(deps, streams);
    const server = new Server({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      // A connection with no call open closes after IDLE_TIMEOUT_S, as HTTP's idle ones do (it
      // stayed open without end: an unauthenticated client's sockets held their descriptors).
      'grpc.max_connection_idle_ms': deps.config.IDLE_TIMEOUT_S * 1000,
      // Calls open at once on one connection (a client past it waits for one to end).
      'grpc.max_concurrent_streams': MAX_STREAMS_A_CONNECTION,
      // Each interceptor wraps the call the one before it made; inflationSlots hooks grpc-js's own
      // call, so it comes first.
      interceptors: [
        // compressed messages decompressed INFLATION_SLOTS at a time across all calls (gzip bombs)
        inflationSlots(undefined, failedMessage),
        // every call's time and status in /metrics, refusals by the interceptor after it included
        timedCalls(new Set([...Object.keys(service), ...GRPC_HEALTH_METHODS]), (method, code, seconds) => deps.metrics.grpc.observe({ method, code }, seconds)),
        // an unknown credential refused before the message is read (authenticate.ts)
        authenticateFirst(credentialCheck(deps.config.API_KEYS, deps.config.ADMIN_KEY), (err) => errorStatus(deps, err)),
      ],
    });
    server.addService(tolerantService(), service);
    const health = new GrpcHealth(async () => (await deps.health()).ready, deps.log);
    health.addTo(server);
    await health.start();
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(hostPort(host, port), ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    const limited = limitConnections(server, {
      prefaceMs: Math.min(PREFACE_DEADLINE_S, deps.config.IDLE_TIMEOUT_S) * 1000,
      maxConnections: deps.config.MAX_CONNECTIONS,
      onDrop: () => deps.metrics.droppedGrpcConnections.inc(),
    });
    if (!limited) {
      deps.log.warn('@grpc/grpc-js changed: its HTTP/2 servers are not where grpc/connection-limits.ts looks, so a connection that never speaks HTTP/2 is not closed and MAX_CONNECTIONS does not bound the gRPC port');
    }
    return new GrpcFrontDoor(server, bound, streams, health);
  }

  async close(graceMs: number): Promise<void> {
    await this.health.stop();
    this.streams.closeAll();
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      cut.unref();
      this.server.tryShutdown(() => {
        clearTimeout(cut);
        resolve();
      });
    });
  }
}
