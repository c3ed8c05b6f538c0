/**
 * Property-based fuzzing (fast-check) of the gRPC front door with malformed and hostile calls
 * (see src/harness/hostile-grpc.ts): a real API process and redis-server, no worker, calls
 * sent eight at a time on one channel. Properties: never INTERNAL or UNKNOWN (nor a call left
 * unanswered or the server gone: DEADLINE_EXCEEDED, UNAVAILABLE), ModelInfer never OK, never a
 * queued job, and the API's memory flat. `GRPC_FUZZ_RUNS` (groups of eight) and `FUZZ_SEED`
 * change the run; a failure prints the seed and the shrunk group of calls (`FUZZ_NO_SHRINK=1`:
 * the first failing group as it came, quicker when calls hang until their 10 s deadline).
 */
import { readFileSync } from 'node:fs';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, PROTO_FILE, queuedInferenceJobs } from '../src/harness/index.js';
import { hostileCall, oversizedRequest, type HostileCall } from '../src/harness/hostile-grpc.js';

const GROUP = 8;
const RUNS = Number(process.env['GRPC_FUZZ_RUNS'] ?? 400); // × 8 = 3,200 calls
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const MAX_MESSAGE_MB = 1;
const SERVICE = 'inference.GRPCInferenceService';
/** Statuses that mean the server failed, hung or went away. */
const FAILED = new Set([Status.INTERNAL, Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.UNAVAILABLE, Status.DATA_LOSS]);

let cluster: Cluster;
let redis: Redis;
let client: Client;
const statuses = new Map<string, number>();
let sent = 0;

const definition = loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const serializer = (method: string) => (definition[SERVICE] as Record<string, { requestSerialize: (o: object) => Buffer }>)[method]!.requestSerialize;

beforeAll(async () => {
  // No worker: a ModelInfer that got queued stays in its queue (and its call would hang).
  cluster = await Cluster.start({ workers: 0, api: { MAX_BODY_MB: String(MAX_MESSAGE_MB) } });
  redis = cluster.redisClient();
  client = new Client(cluster.grpcAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 8 * 2 ** 20, 'grpc.max_receive_message_length': 8 * 2 ** 20 });
});
afterAll(async () => {
  client?.close();
  redis?.disconnect();
  await cluster?.stop();
});

function apiRssMiB(): number {
  const status = readFileSync(`/proc/${cluster.api.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The message bytes of `c`, as a client would send them (or as broken as the case says). */
function bytesOf(c: HostileCall): Buffer {
  if (c.bytes) return c.bytes;
  if (c.oversize) return serializer(c.method)(oversizedRequest(c.oversize));
  if (c.mangle) {
    const full = serializer(c.method)(c.mangle.request);
    return c.mangle.how === 'truncate' ? full.subarray(0, c.mangle.at % Math.max(1, full.length)) : Buffer.concat([full, c.mangle.junk]);
  }
  return serializer(c.method)(c.request!);
}

/** Sends `c` and resolves with its status code (OK included), never rejects. */
function send(c: HostileCall): Promise<{ code: Status; details: string }> {
  const bytes = bytesOf(c);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${SERVICE}/${c.method}`, (b: Buffer) => b, (b: Buffer) => b, bytes, new Metadata(), { deadline: Date.now() + 10_000 },
      (err: ServiceError | null) => {
        sent++;
        const code = err ? err.code : Status.OK;
        const key = `${c.method === 'ModelInfer' ? 'infer' : 'other'} ${Status[code]}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        resolve({ code, details: err?.details ?? '' });
      },
    );
  });
}

const describeCall = (c: HostileCall) => {
  const request = c.request ?? c.mangle?.request;
  const text = request ? JSON.stringify(request, (_k, v) => (v?.type === 'Buffer' ? `<${v.data.length} bytes>` : v)) : `<${c.bytes?.length ?? c.oversize} bytes>`;
  return `${c.kind} ${c.method}${c.mangle ? ` (${c.mangle.how} at ${c.mangle.at})` : ''}: ${text.slice(0, 600)}`;
};

describe('fuzzing the gRPC front door with hostile calls', () => {
  it(`${RUNS * GROUP} calls: never INTERNAL or UNKNOWN, ModelInfer never OK, never a queued job, memory flat`, async () => {
    const calls = fc.array(hostileCall(MAX_MESSAGE_MB * 2 ** 20), { minLength: GROUP, maxLength: GROUP });
    for (const group of fc.sample(calls, { numRuns: 30, seed: SEED + 1 })) await Promise.all(group.map(send));
    const property = fc.asyncProperty(calls, async (group) => {
      const replies = await Promise.all(group.map(send));
      replies.forEach((r, i) => {
        const c = group[i]!;
        if (FAILED.has(r.code) || (c.method === 'ModelInfer' && r.code === Status.OK)) {
          throw new Error(`${Status[r.code]} (${r.details}) for ${describeCall(c)}`);
        }
      });
    });
    // Memory after the first half (allocator grown to its working size) and after the second must agree.
    const before = apiRssMiB();
    const started = Date.now();
    await fc.assert(property, { numRuns: Math.ceil(RUNS / 2), seed: SEED, endOnFailure: !!process.env['FUZZ_NO_SHRINK'] });
    const half = apiRssMiB();
    await fc.assert(property, { numRuns: Math.floor(RUNS / 2), seed: SEED + 2, endOnFailure: !!process.env['FUZZ_NO_SHRINK'] });
    const seconds = (Date.now() - started) / 1000;
    const after = apiRssMiB();
    const queued = await queuedInferenceJobs(redis);
    const bad = [...statuses].filter(([k]) => FAILED.has(Status[k.split(' ')[1] as keyof typeof Status] as Status)).reduce((n, [, v]) => n + v, 0);
    console.log(`grpc fuzz: ${sent} calls (${Math.round(sent / seconds)}/s), statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
      `INTERNAL/UNKNOWN ${bad}, queued ${queued}, API RSS ${before.toFixed(0)} → ${half.toFixed(0)} → ${after.toFixed(0)} MiB`);
    expect(sent).toBeGreaterThanOrEqual(RUNS * GROUP);
    expect(bad).toBe(0);
    expect(queued).toBe(0);
    expect(after - half, `API RSS ${before.toFixed(0)} → ${half.toFixed(0)} → ${after.toFixed(0)} MiB`).toBeLessThan(32);
    expect(after - before).toBeLessThan(100);
    expect(cluster.api.child.exitCode).toBeNull();
    expect(cluster.api.log).not.toMatch(/unhandled gRPC error|unhandled error|Maximum call stack/);
  }, 120_000);
});
