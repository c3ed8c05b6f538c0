/**
 * `npm start`'s launcher (scripts/start.mjs): embedded Redis with an append-only file, API and
 * worker (each started with its SERVICE_NODE_FLAGS); a job survives a full stop/start through the AOF;
 * SIGINT stops everything with exit 0, also a terminal's Ctrl-C (SIGINT to the whole process
 * group) while the worker holds jobs: Redis outlives the drain, which records them. A Redis
 * left on the port by a launcher killed outright is named, with how to stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, SERVICE_NODE_FLAGS, startRedisServer } from '@maas/shared';
import { call, modelRepository, REPO_ROOT, rows } from '../src/harness/index.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `npm start`'s launcher; `ownGroup`: in a process group of its own, as a terminal runs it (for `process.kill(-pid)`). */
async function launch(port: number, redisPort: number, cwdData: string, grpcPort: number, extraEnv: Record<string, string> = {}, ownGroup = false) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: String(port), GRPC_PORT: String(grpcPort), EMBEDDED_REDIS_PORT: String(redisPort), MAAS_DATA_DIR: cwdData, WORKER_HEARTBEAT_MS: '500', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownGroup,
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (/worker ready/.test(out)) break;
    if (child.exitCode !== null) throw new Error(`start.mjs exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { url, child, exit, output: () => out };
}

describe('npm start (scripts/start.mjs)', () => {
  it('runs Redis + API + worker, keeps jobs across a restart, and stops on SIGINT with exit 0', async () => {
    const data = await mkdtemp(join(tmpdir(), 'maas-start-'));
    try {
      const [port, redisPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
      const first = await launch(port, redisPort, data, grpcPort);
      expect(first.output()).toMatch(/embedded redis-server/);
      expect(first.output()).toMatch(/grpc listening/);
      // Its children (redis-server, API, worker), as Linux lists them: the node ones carry their V8 flags.
      const pids = readFileSync(`/proc/${first.child.pid}/task/${first.child.pid}/children`, 'utf8').trim().split(/\s+/);
      const commands = pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
      for (const role of ['api', 'worker'] as const) {
        const entry = `apps/${role}/dist/main.js`;
        const command = commands.find((c) => c.at(-1)!.endsWith(entry));
        expect(command?.slice(1)).toEqual([...SERVICE_NODE_FLAGS[role], expect.stringMatching(new RegExp(`${entry}$`))]);
      }
      const job = await call(first.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32) }] }, { Prefer: 'wait=10' });
      expect(job.body.status).toBe('succeeded');
      await new Promise((r) => setTimeout(r, 1100)); // appendfsync everysec
      first.child.kill('SIGINT');
      expect(await first.exit).toBe(0);
      expect(existsSync(join(data, 'redis'))).toBe(true);

      const second = await launch(port, redisPort, data, grpcPort);
      const again = await call(second.url, 'GET', `/v1/jobs/${job.body.id}`);
      expect(again.body).toMatchObject({ id: job.body.id, status: 'succeeded' });
      second.child.kill('SIGTERM');
      expect(await second.exit).toBe(0);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it('a terminal\'s Ctrl-C (SIGINT to the whole group) while the worker holds jobs: the drain records them before Redis stops, exit 0', async () => {
    const data = await mkdtemp(join(tmpdir(), 'maas-start-'));
    // The worker holds jobs for 6 s (it waits that long for a preferred run of 1,024 rows).
    const repo = await modelRepository({ mlp: { max_queue_delay_ms: 6000, preferred_batch_sizes: [1024] } });
    try {
      const [port, redisPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
      const first = await launch(port, redisPort, data, grpcPort, { MODEL_REPOSITORY: repo.dir }, true);
      const workerId = /"workerId":"([^"]+)"/.exec(first.output())?.[1];
      expect(workerId).toBeDefined();
      const created = await Promise.all(rows(9, 12, 32).map((r) => call(first.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: [r] }] })));
      for (const c of created) expect(c.status).toBe(202);
      await new Promise((r) => setTimeout(r, 1500)); // fetched and held (and in the AOF)
      const t0 = Date.now();
      process.kill(-first.child.pid!, 'SIGINT');
      expect(await first.exit).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8000); // no 6 s window, no 10 s wait for a Redis gone
      expect(first.output()).toMatch(/worker stopped/);
      expect(first.output()).not.toMatch(/RedisGoneError|did not stop cleanly/);

      const second = await launch(port, redisPort, data, grpcPort, { MODEL_REPOSITORY: repo.dir });
      for (const c of created) {
        const d = await call(second.url, 'GET', `/v1/jobs/${c.body.id}`);
        expect(d.body.status).toBe('succeeded');
        expect(d.body.metrics.worker).toBe(workerId); // run and recorded by the drain
      }
      second.child.kill('SIGTERM');
      expect(await second.exit).toBe(0);
    } finally {
      await repo.remove();
      await rm(data, { recursive: true, force: true });
    }
  });
  it('a launcher killed outright (kill -9): its API and worker stop themselves instead of running on as orphans', async () => {
    const data = await mkdtemp(join(tmpdir(), 'maas-start-'));
    const gone = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'); // exited, not yet reaped
      } catch {
        return true;
      }
    };
    let pids: string[] = [];
    try {
      const [port, redisPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
      const first = await launch(port, redisPort, data, grpcPort);
      pids = readFileSync(`/proc/${first.child.pid}/task/${first.child.pid}/children`, 'utf8').trim().split(/\s+/);
      const services = pids.filter((pid) => /apps\/(api|worker)\/dist\/main\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
      expect(services).toHaveLength(2);
      first.child.kill('SIGKILL');
      await first.exit;
      for (let i = 0; i < 300 && !services.every(gone); i++) await new Promise((r) => setTimeout(r, 100));
      expect(services.filter((pid) => !gone(pid))).toEqual([]);
      expect(first.output()).toMatch(/the launcher that started this process is gone, or is stopping it \(Windows\): stopping/);
    } finally {
      for (const pid of pids) if (!gone(pid)) process.kill(Number(pid), 'SIGKILL'); // the Redis it leaves, as documented
      await rm(data, { recursive: true, force: true });
    }
  });

  it('its Redis port held by a Redis an earlier run left (launcher killed outright): says so and how to stop it, exit 1; by another Redis: says that', async () => {
    const data = await mkdtemp(join(tmpdir(), 'maas-start-'));
    const redisPort = await freePort();
    // What a `kill -9`ed launcher leaves: its redis-server, on its port, with its data directory.
    const left = await startRedisServer({ dir: join(data, 'redis'), port: redisPort });
    try {
      const attempt = async (dataDir: string) => {
        const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
          cwd: REPO_ROOT,
          env: { PATH: process.env['PATH'] ?? '', PORT: String(await freePort()), EMBEDDED_REDIS_PORT: String(redisPort), MAAS_DATA_DIR: dataDir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let out = '';
        child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
        const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
        return { code, out };
      };
      const same = await attempt(data);
      expect(same.code).toBe(1);
      expect(same.out).toContain(`a redis-server with this data directory (${join(data, 'redis')}) already runs on port ${redisPort}`);
      expect(same.out).toContain(`redis-cli -p ${redisPort} shutdown`);
      const other = await attempt(join(data, 'elsewhere'));
      expect(other.code).toBe(1);
      expect(other.out).toContain(`port ${redisPort} is taken by another Redis`);
    } finally {
      await left.stop();
      await rm(data, { recursive: true, force: true });
    }
  });
  it('a bad EMBEDDED_REDIS_PORT stops it with a message, exit 1', async () => {
    const run = async (env: Record<string, string>) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
        cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '', PORT: String(await freePort()), ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      return { code, out };
    };
    for (const bad of ['abc', '-5', '0x1F9B', '70000', '0']) {
      const r = await run({ EMBEDDED_REDIS_PORT: bad });
      expect(r.code).toBe(1);
      expect(r.out).toContain(`EMBEDDED_REDIS_PORT must be a port from 1 to 65535, not '${bad}'`);
    }
  });
});
