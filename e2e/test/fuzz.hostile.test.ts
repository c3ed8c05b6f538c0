/**
 * Property-based fuzzing (fast-check) of the running cluster with malformed and hostile
 * requests across every route and body type (see src/harness/hostile.ts): a real API process
 * and redis-server, requests sent eight at a time over keep-alive connections. Properties:
 * never a 5xx (nor a request left unanswered), never a queued job, and the API's memory flat.
 * `FUZZ_RUNS` (groups of eight) and `FUZZ_SEED` change the run; a failure prints the seed and
 * the shrunk group of requests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, queuedInferenceJobs } from '../src/harness/index.js';
import { hostileRequest, type HostileRequest } from '../src/harness/hostile.js';

const GROUP = 8;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1300); // × 8 = 10,400 requests
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);

let cluster: Cluster;
let redis: Redis;
const batchIds: string[] = [];
const statuses = new Map<number, number>();
let sent = 0;

beforeAll(async () => {
  // No worker: a job or chunk that got queued stays in its queue, for the check below.
  cluster = await Cluster.start({ workers: 0 });
  redis = cluster.redisClient();
});
afterAll(async () => {
  if (process.env['FUZZ_LOG']) writeFileSync(process.env['FUZZ_LOG'], cluster?.api.log ?? '');
  redis?.disconnect();
  await cluster?.stop();
});

/** The API's V8 heap in use (MiB), from its own metrics. */
async function apiHeapMiB(): Promise<number> {
  const text = await (await fetch(`${cluster.url}/metrics`)).text();
  return Number(/^maas_api_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
}

/** The API process's resident memory (MiB), from /proc. */
function apiRssMiB(): number {
  const status = readFileSync(`/proc/${cluster.api.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function send(r: HostileRequest): Promise<{ status: number; text: string }> {
  let path = r.path;
  if (path.includes('{pooled}')) path = path.replace('{pooled}', batchIds.length ? batchIds[r.pooled! % batchIds.length]! : 'batch_none');
  const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
  const res = await fetch(cluster.url + path, {
    method: r.method,
    headers: r.headers,
    ...(withBody ? { body: r.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  sent++;
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status === 202 && r.kind.startsWith('batch-')) batchIds.push((JSON.parse(text) as { id: string }).id);
  return { status: res.status, text };
}

const describeRequest = (r: HostileRequest) =>
  `${r.kind}: ${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers)} body ${r.body?.length ?? 0} B: ${r.body?.subarray(0, 300).toString('latin1') ?? ''}`;

describe('fuzzing every route with hostile requests', () => {
  it(`${RUNS * GROUP} requests: never a 5xx, never a queued job, memory flat`, async () => {
    // Warm up (JIT, pools, first queues) before the memory baseline.
    for (const group of fc.sample(fc.array(hostileRequest, { minLength: GROUP, maxLength: GROUP }), { numRuns: 60, seed: SEED + 1 })) await Promise.all(group.map(send));
    const property = fc.asyncProperty(fc.array(hostileRequest, { minLength: GROUP, maxLength: GROUP }), async (group) => {
      const replies = await Promise.all(group.map(send));
      replies.forEach((reply, i) => {
        if (reply.status >= 500) throw new Error(`${reply.status} for ${describeRequest(group[i]!)}\n→ ${reply.text.slice(0, 500)}`);
      });
    });
    // Two halves with different seeds: memory after the first half (heap and allocator grown to
    // their working size) and after the second must agree; a leak keeps growing. (Measured over
    // 42,000 requests: RSS 125 MiB after warm-up, ~175 after 5,000, then 185-191 MiB flat, the
    // V8 heap 30-85 MiB with no trend.) The bound below catches a leak of ~6 KB a request.
    const before = apiRssMiB();
    const started = Date.now();
    await fc.assert(property, { numRuns: Math.ceil(RUNS / 2), seed: SEED });
    const half = apiRssMiB();
    await fc.assert(property, { numRuns: Math.floor(RUNS / 2), seed: SEED + 2 });
    const seconds = (Date.now() - started) / 1000;
    const after = apiRssMiB();
    const heap = await apiHeapMiB();
    const queued = await queuedInferenceJobs(redis);
    const metrics = await (await fetch(`${cluster.url}/metrics`)).text();
    const fiveXX = [...metrics.matchAll(/^maas_http_request_seconds_count\{[^}]*status="(5\d\d)"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
    console.log(`fuzz: ${sent} requests (${Math.round(sent / seconds)}/s), statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
      `5xx ${fiveXX}, queued ${queued}, batches accepted ${batchIds.length}, API RSS ${before.toFixed(0)} → ${half.toFixed(0)} → ${after.toFixed(0)} MiB (heap ${heap.toFixed(0)} MiB)`);
    expect(sent).toBeGreaterThanOrEqual(RUNS * GROUP);
    expect(fiveXX).toBe(0);
    expect(queued).toBe(0);
    expect(await redis.zcard('maas:uploads')).toBe(0);
    expect(after - half, `API RSS ${before.toFixed(0)} → ${half.toFixed(0)} → ${after.toFixed(0)} MiB`).toBeLessThan(32);
    expect(after - before).toBeLessThan(100);
    expect(cluster.api.child.exitCode).toBeNull();
    expect(cluster.api.log).not.toMatch(/unhandled error|Maximum call stack/);
  }, 180_000);
});
