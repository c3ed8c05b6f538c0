/**
 * The containers, built and run for real (`npm run test:containers`, not part of `npm test`):
 * builds the image from the repository's Dockerfile (extra CA certificates as a BuildKit secret),
 * runs docker-compose.yml with `--scale worker=3`, sends single jobs and a batch, shows every
 * worker served jobs, SIGKILLs a worker container while it holds jobs, and checks that every
 * accepted job and batch row ends succeeded with the outputs of a direct onnxruntime run.
 *
 * Where no public registry is reachable (this CI), the base images are made here: a Debian
 * bookworm rootfs (debootstrap), plus this machine's Node 20 for BASE_IMAGE, plus Debian's
 * redis-server for REDIS_IMAGE. Elsewhere set MAAS_TEST_BASE_IMAGE=node:20-bookworm-slim and
 * MAAS_TEST_REDIS_IMAGE=redis:7. When Docker cannot start here (no permission, no kernel
 * support), the suite is skipped with the reason, and the run still exits 0.
 *
 * Settings: MAAS_TEST_COLD=1 removes this test's images and the build cache first (a cold
 * build); MAAS_EXTRA_CA_FILE picks the CA bundle; MAAS_SKIP_CONTAINERS=1 skips.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../src/harness/eventually.js';
import { InferenceClient } from '../src/harness/grpc-client.js';
import { rows } from '../src/harness/http.js';
import { runAlone } from '../src/harness/reference.js';
import {
  buildNodeBase, buildProject, buildRedis, Compose, ensureRootfs, freePort, http, imageExists, log, markersInImage, modelsCopy,
  probeDocker, removeStaleProjects, REPO, run, step, stopDaemon, type BuildResult, type Docker, type Reply,
} from './docker.js';

const ROOTFS = 'maas-test-rootfs:bookworm';
const LOCAL_BASE = 'maas-test-base:node20';
const LOCAL_REDIS = 'maas-test-redis:7';
const IMAGE = 'maas-test:latest';
const PROJECT_PREFIX = 'maasct';
const MLP = join(REPO, 'models/mlp/1/model.onnx');
/**
 * mlp's batch window in this test's model copy (with preferred_batch_sizes, an idle session
 * waits that long for 1024 rows): under load every worker holds jobs at every moment, so the
 * kill always hits jobs in flight.
 */
const WINDOW_MS = 1500;

// ---------------------------------------------------------------------------------------------
// Can Docker run here? Decided before the suite is collected, so that it can be skipped.
// ---------------------------------------------------------------------------------------------
let docker: Docker | undefined;
let skipReason: string | undefined;
const prepared = { rootfsMs: 0 };
const baseOverride = process.env['MAAS_TEST_BASE_IMAGE'];
const redisOverride = process.env['MAAS_TEST_REDIS_IMAGE'];

const probe = await probeDocker();
if (!probe.ok) skipReason = probe.reason;
else {
  docker = probe.docker;
  log(`Docker: ${docker.versions}${docker.daemon ? ' (dockerd started by this run)' : ''}`);
  await removeStaleProjects(docker, PROJECT_PREFIX);
  if (process.env['MAAS_TEST_COLD']) {
    log('MAAS_TEST_COLD: removing this test\'s images and the build cache');
    await run(docker.cli, ['rmi', '-f', IMAGE, LOCAL_BASE, LOCAL_REDIS, ROOTFS], { timeoutMs: 120_000, check: false });
    await run(docker.cli, ['builder', 'prune', '-af'], { timeoutMs: 300_000, check: false });
  }
  // A container must be able to run (cgroups, namespaces, overlayfs): else skip, like no Docker.
  let smoke: string[];
  if (baseOverride) smoke = [baseOverride, 'node', '--version'];
  else {
    prepared.rootfsMs = await ensureRootfs(docker, ROOTFS);
    smoke = [ROOTFS, 'true'];
  }
  const r = await run(docker.cli, ['run', '--rm', ...smoke], { timeoutMs: 120_000, check: false });
  if (r.code !== 0) {
    skipReason = `Docker answers but cannot run a container here: ${r.stderr.trim().split('\n').pop()}`;
    await stopDaemon(docker);
  }
}
if (skipReason) {
  console.warn(`\n[containers] SKIPPED: ${skipReason}\n[containers] (the containers test needs a Docker engine it can use or start; nothing else was run)\n`);
}

// ---------------------------------------------------------------------------------------------

interface Job {
  id: string;
  row: number[];
  expected: number[];
}

const mlpJob = (row: number[]) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: [row] }] });

function expectClose(actual: number[], expected: number[], tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol));
}

/** Runs `fn` over `items` with at most `limit` at once, results in order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** Long-polls a job until it has ended (or `ms` pass). */
async function finished(base: string, id: string, ms = 120_000): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await http(base, 'GET', `/v1/jobs/${id}?wait=20`, undefined, {}, 30_000);
    if (r.status === 200 && ['succeeded', 'failed', 'canceled', 'cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`job ${id} did not end within ${ms} ms; last: ${JSON.stringify(r.body).slice(0, 500)}`);
  }
}

async function submitBatch(base: string, data: number[][], prefix: string): Promise<string> {
  const body = data.map((r, i) => JSON.stringify({ custom_id: `${prefix}${i}`, inputs: { input: r } })).join('\n') + '\n';
  const res = await http(base, 'POST', '/v1/batches?model=mlp', body, { 'content-type': 'application/x-ndjson' });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Waits for a batch to complete and checks every result line against the reference. */
async function checkBatch(base: string, id: string, data: number[][], expected: number[][], prefix: string): Promise<void> {
  const done = await eventually(async () => (await http(base, 'GET', `/v1/batches/${id}`, undefined, {}, 10_000)).body, (b) => b.completed_at != null, {
    ms: 120_000,
    every: 250,
    what: `batch ${id} to complete`,
  });
  expect(done.counts).toEqual({ total: data.length, succeeded: data.length, failed: 0 });
  const res = await fetch(`${base}/v1/batches/${id}/results`, { signal: AbortSignal.timeout(60_000) });
  const lines = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
  expect(lines.length).toBe(data.length);
  lines.forEach((line, i) => {
    expect(line.custom_id).toBe(`${prefix}${i}`);
    expectClose(line.outputs.output, expected[i]!);
  });
}

describe.skipIf(skipReason !== undefined)('containers: the image and docker-compose.yml, built and run', () => {
  const d = docker!;
  let compose: Compose;
  let base = '';
  let build: BuildResult;
  let modelsDir = '';
  let apiUrl = '';
  const workerIds = new Map<string, string>(); // worker id → container name
  const served = new Map<string, number>(); // worker id → jobs finished
  const summary: string[] = [];
  let jobsSent = 0;
  let rowsSent = 0;
  let lost = 0;

  beforeAll(async () => {
    const baseImage = baseOverride ?? LOCAL_BASE;
    const redisImage = redisOverride ?? LOCAL_REDIS;
    if (!baseOverride) {
      await step(`build ${LOCAL_BASE} (${ROOTFS} + this machine's Node ${process.version})`, 300_000, () => buildNodeBase(d, ROOTFS, LOCAL_BASE));
    }
    if (!redisOverride && !imageExists(d, LOCAL_REDIS)) {
      await step(`build ${LOCAL_REDIS} (Debian's redis-server on ${ROOTFS})`, 300_000, () => buildRedis(d, ROOTFS, LOCAL_REDIS));
    }
    build = await step(`build ${IMAGE} from the Dockerfile (BASE_IMAGE=${baseImage})`, 600_000, () => buildProject(d, baseImage, IMAGE));
    base = baseImage;
    summary.push(
      `image ${IMAGE}: ${(build.bytes / 1e6).toFixed(0)} MB, built in ${(build.ms / 1000).toFixed(1)} s` +
        `${prepared.rootfsMs ? ` (+ ${(prepared.rootfsMs / 1000).toFixed(0)} s to debootstrap the base rootfs)` : ''}; log ${build.log}`,
    );
    summary.push(`extra CAs as a build secret: ${build.caFiles.length ? build.caFiles.join(', ') : 'none'}`);
    log(summary[0]!);

    modelsDir = await modelsCopy(async (dir) => {
      await writeFile(join(dir, 'mlp/config.json'), JSON.stringify({ max_batch_size: 1024, max_queue_delay_ms: WINDOW_MS, preferred_batch_sizes: [1024] }, null, 2) + '\n');
    });
    const [apiPort, grpcPort] = [await freePort(), await freePort()];
    compose = new Compose(d, `${PROJECT_PREFIX}${process.pid}`, {
      MAAS_IMAGE: IMAGE,
      REDIS_IMAGE: redisImage,
      MODELS_DIR: modelsDir,
      API_PORT: String(apiPort),
      API_GRPC_PORT: String(grpcPort),
    });
    const t0 = Date.now();
    await step(`docker-compose up -d --scale worker=3 (project ${compose.project}, API on 127.0.0.1:${apiPort}, gRPC :${grpcPort})`, 240_000, () =>
      compose.run(['up', '-d', '--no-build', '--scale', 'worker=3'], 230_000),
    );
    apiUrl = `http://127.0.0.1:${apiPort}`;
    await step('three workers serving mlp', 150_000, () =>
      eventually(
        async () => {
          try {
            return (await http(apiUrl, 'GET', '/v2/models/mlp/ready', undefined, {}, 5000)).body;
          } catch {
            return undefined;
          }
        },
        (b) => b?.workers === 3,
        { ms: 120_000, every: 500, what: 'three workers serving mlp' },
      ),
    );
    summary.push(`compose up to three ready workers: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const id of await compose.containers('worker')) {
      const name = (await compose.inspect(id, '{{.Name}}')).replace(/^\//, '');
      const logs = await eventually(() => compose.logs(id), (l) => /wrk_[0-9A-Za-z]+/.test(l), { ms: 30_000, every: 500, what: `${name} to log its worker id` });
      workerIds.set(/wrk_[0-9A-Za-z]+/.exec(logs)![0], name);
    }
    expect(workerIds.size).toBe(3);
  });

  afterAll(async () => {
    if (compose) {
      log(`docker-compose down -v (project ${compose.project})`);
      await compose.down();
      const left = await compose.containers('worker', true);
      if (left.length) log(`WARNING: containers left behind: ${left.join(' ')}`);
    }
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
    await stopDaemon(d);
    console.log(`\n[containers] summary\n${summary.map((s) => `  - ${s}`).join('\n')}\n`);
  });

  const url = () => apiUrl;

  it('the image: non-root, one image for both roles, API on 127.0.0.1 only, health checks pass, no CA baked in', async () => {
    const api = (await compose.containers('api'))[0]!;
    const workers = await compose.containers('worker');
    expect(await compose.inspect(api, '{{.Config.User}}')).toBe('node');
    expect(await compose.inspect(api, '{{.Config.Image}}')).toBe(IMAGE);
    for (const w of workers) expect(await compose.inspect(w, '{{.Config.Image}}')).toBe(IMAGE);
    const ports = (await run(d.cli, ['port', api], { timeoutMs: 20_000 })).stdout;
    expect(ports).toMatch(/^8080\/tcp -> 127\.0\.0\.1:\d+$/m);
    expect(ports).toMatch(/^8081\/tcp -> 127\.0\.0\.1:\d+$/m);
    expect(ports).not.toMatch(/0\.0\.0\.0|::/);
    // gRPC next to HTTP
    const grpcPort = /^8081\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(ports)![1];
    const grpc = new InferenceClient(`127.0.0.1:${grpcPort}`);
    try {
      expect(await step('gRPC ServerReady', 20_000, () => grpc.call('ServerReady', {}))).toEqual({ ready: true });
    } finally {
      grpc.close();
    }
    // Docker's own health checks: the API's ready probe, and the image's check for workers.
    for (const id of [api, ...workers]) {
      // eventually's reads (docker inspect) have their own timeouts
      await eventually(() => compose.inspect(id, '{{.State.Health.Status}}'), (s) => s === 'healthy', { ms: 90_000, every: 1000, what: `container ${id.slice(0, 12)} to be healthy` });
    }
    // Refuses to publish beyond localhost without keys.
    const refused = await run(d.cli, ['run', '--rm', '-e', 'API_BIND=0.0.0.0', '-e', 'API_KEYS=', '--entrypoint', 'sh', IMAGE, '-c', (await compose.inspect(api, '{{index .Config.Cmd 2}}'))], {
      timeoutMs: 60_000,
      check: false,
    });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('set API_KEYS');
    // The CA bundle was a secret: none of its certificates is in the image unless the base
    // image already had it (node's binary embeds the public roots).
    if (build.markers.length) {
      const inImage = await markersInImage(d, IMAGE, build.markers);
      const inBase = await markersInImage(d, base, build.markers);
      expect([...inImage].filter((m) => !inBase.has(m))).toEqual([]);
      summary.push(`CA certificates in the image and not in its base: 0 of ${build.markers.length}`);
    }
    const env = await compose.inspect(api, '{{json .Config.Env}}');
    expect(env).not.toContain('NODE_EXTRA_CA_CERTS');
  });

  it('serves single jobs (Prefer: wait) and a batch from all three workers, with the outputs of onnxruntime', async () => {
    const data = rows(101, 240, 32);
    const expected = await runAlone(MLP, 'input', 'output', data);
    let next = 0;
    // Rounds of concurrent jobs until each worker has served some (a round normally suffices).
    for (let round = 0; round < 6 && (round === 0 || served.size < 3); round++) {
      const slice = data.slice(next, next + 40).map((row, i) => ({ row, i: next + i }));
      next += slice.length;
      if (slice.length === 0) break;
      const replies = await step(`round ${round + 1}: ${slice.length} single jobs with Prefer: wait`, 90_000, () =>
        pool(slice, 40, ({ row }) => http(url(), 'POST', '/v1/jobs', mlpJob(row), { Prefer: 'wait=30' })),
      );
      jobsSent += replies.length;
      replies.forEach((r: Reply, k) => {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.status).toBe('succeeded');
        expectClose(r.body.outputs[0].data, expected[slice[k]!.i]!);
        served.set(r.body.metrics.worker, (served.get(r.body.metrics.worker) ?? 0) + 1);
      });
    }
    expect([...served.keys()].sort()).toEqual([...workerIds.keys()].sort());
    summary.push(
      `single jobs (Prefer: wait): ${next}, all succeeded; served by ${[...served].map(([w, n]) => `${workerIds.get(w)} (${w}) ${n}`).join(', ')}`,
    );

    const batchRows = rows(102, 2000, 32);
    const id = await submitBatch(url(), batchRows, 'b');
    rowsSent += batchRows.length;
    const batchExpected = await runAlone(MLP, 'input', 'output', batchRows);
    await step(`batch of ${batchRows.length} rows`, 150_000, () => checkBatch(url(), id, batchRows, batchExpected, 'b'));
    summary.push(`batch of ${batchRows.length} NDJSON rows: all succeeded, results in order`);
  });

  it('loses nothing when a worker container is SIGKILLed while it holds jobs', async () => {
    // Waves of jobs go on while the active list is read and a worker is killed: a worker holds
    // jobs only while rows are pending (up to WINDOW_MS from the oldest), so a read made while
    // no wave was being sent could find nothing held (it did, once, on a slow CI machine).
    const minWaves = 12;
    const maxWaves = 60;
    const perWave = 50;
    const data = rows(103, maxWaves * perWave, 32);
    const expected = await runAlone(MLP, 'input', 'output', data);
    const batchRows = rows(104, 3000, 32);
    const batchId = await submitBatch(url(), batchRows, 'k');
    rowsSent += batchRows.length;
    const jobs: Job[] = [];
    let held: { worker: string; jobs: string[] } | undefined;
    let killedAt = 0;
    const redis = (await compose.containers('redis'))[0]!;

    let wavesSent = 0;
    let failed = false; // either task failing stops the other
    const produce = async () => {
      for (let w = 0; w < maxWaves && !failed && (w < minWaves || !held); w++) {
        const slice = data.slice(w * perWave, (w + 1) * perWave);
        const created = await Promise.all(slice.map((row) => http(url(), 'POST', '/v1/jobs', mlpJob(row), {}, 30_000)));
        created.forEach((c, k) => {
          expect(c.status, JSON.stringify(c.body)).toBe(202);
          jobs.push({ id: c.body.id, row: slice[k]!, expected: expected[w * perWave + k]! });
        });
        jobsSent += created.length;
        wavesSent = w + 1;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const kill = async () => {
      await eventually(async () => (failed ? minWaves : wavesSent), (n) => n >= minWaves / 2, { ms: 60_000, every: 50, what: `${minWaves / 2} waves sent` });
      if (failed) return;
      // Which worker holds the most jobs right now (BullMQ's active list; `pb` is processedBy)?
      // A BullMQ job may carry several public jobs (creates of one turn packed: job-packer.ts).
      const script =
        "local ids=redis.call('LRANGE',KEYS[1],0,-1) local out={} for _,id in ipairs(ids) do out[#out+1]=id..'\t'..(redis.call('HGET',ARGV[1]..id,'pb') or redis.call('HGET',ARGV[1]..id,'processedBy') or '')..'\t'..(redis.call('HGET',ARGV[1]..id,'data') or '{}') end return out";
      const heldNow = async () => {
        const out = (await run(d.cli, ['exec', redis, 'redis-cli', '--raw', 'EVAL', script, '1', 'maas:{infer-mlp-v1}:active', 'maas:{infer-mlp-v1}:'], { timeoutMs: 20_000 })).stdout;
        const byWorker = new Map<string, string[]>();
        for (const line of out.trim().split('\n')) {
          const [jobId, worker, data] = line.split('\t');
          const members = (JSON.parse(data || '{}') as { members?: { id: string }[] }).members?.map((m) => m.id) ?? [jobId!];
          if (worker && workerIds.has(worker)) byWorker.set(worker, [...(byWorker.get(worker) ?? []), ...members]);
        }
        return byWorker;
      };
      const byWorker = await eventually(heldNow, (m) => m.size > 0, { ms: 20_000, every: 100, what: 'jobs held by a worker' });
      const [worker, ids] = [...byWorker].sort((a, b) => b[1].length - a[1].length)[0]!;
      const name = workerIds.get(worker)!;
      await run(d.cli, ['kill', name], { timeoutMs: 30_000 });
      killedAt = Date.now();
      held = { worker, jobs: ids };
      log(`docker kill ${name} (${worker}) while it held ${ids.length} jobs and batch chunks (after ${wavesSent} waves of ${perWave})`);
    };
    const settled = await Promise.allSettled([produce(), kill()].map((task) => task.catch((err: unknown) => {
      failed = true;
      throw err;
    })));
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    expect(held).toBeDefined();
    expect(held!.jobs.length).toBeGreaterThan(0);

    const done = await step(`all ${jobs.length} jobs to end`, 180_000, () => pool(jobs, 50, (j) => finished(url(), j.id)));
    const recoveredAt = Date.now();
    done.forEach((body, i) => {
      if (body.status !== 'succeeded') lost++;
      expect(body.status, JSON.stringify(body.error)).toBe('succeeded');
      expectClose(body.outputs[0].data, jobs[i]!.expected);
      served.set(body.metrics.worker, (served.get(body.metrics.worker) ?? 0) + 1);
    });
    // The killed worker's jobs were finished by the others, except those it completed in the
    // moment between the read of the active list and the kill (its 2 ms window is short):
    // nothing completed after the kill may name it.
    const heldJobs = new Set(held!.jobs);
    const rerun = done.filter((b) => heldJobs.has(b.id));
    for (const b of rerun) {
      if (b.metrics.worker === held!.worker) expect(Date.parse(b.completed_at), `${b.id} completed by the killed worker`).toBeLessThanOrEqual(killedAt);
    }
    const batchExpected = await runAlone(MLP, 'input', 'output', batchRows);
    await step(`the ${batchRows.length}-row batch to complete`, 150_000, () => checkBatch(url(), batchId, batchRows, batchExpected, 'k'));

    const state = await compose.inspect(workerIds.get(held!.worker)!, '{{.State.Status}} (restarts {{.RestartCount}})');
    summary.push(
      `kill mid-load: ${jobs.length} jobs + a ${batchRows.length}-row batch; ${workerIds.get(held!.worker)} SIGKILLed holding ${held!.jobs.length} ` +
        `(${rerun.length} single jobs, ${held!.jobs.length - rerun.length} batch chunks); all finished by the other workers, the last ${((recoveredAt - killedAt) / 1000).toFixed(1)} s after the kill ` +
        `(default WORKER_LOCK_MS; a dead worker is noticed by its missed liveness beat); killed container afterwards: ${state}`,
    );
    summary.push(
      `sent ${jobsSent} single jobs and ${rowsSent} batch rows; lost ${lost}; jobs served per worker: ${[...served].map(([w, n]) => `${workerIds.get(w) ?? w} ${n}`).join(', ')}`,
    );
  });
});
