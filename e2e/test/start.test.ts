/**
 * `npm start`'s launcher (scripts/start.mjs): embedded Redis with an append-only file, API and
 * worker (each started with its SERVICE_NODE_FLAGS); a job survives a full stop/start through the AOF;
 * SIGINT stops everything with exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, SERVICE_NODE_FLAGS } from '@maas/shared';
import { call, REPO_ROOT, rows } from '../src/harness/index.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function launch(port: number, redisPort: number, cwdData: string, grpcPort: number) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/start.mjs')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: String(port), GRPC_PORT: String(grpcPort), EMBEDDED_REDIS_PORT: String(redisPort), MAAS_DATA_DIR: cwdData, WORKER_HEARTBEAT_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
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
});
