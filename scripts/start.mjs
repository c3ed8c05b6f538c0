#!/usr/bin/env node
/**
 * `npm start`: everything one machine needs. If REDIS_URL is unset, a redis-server child with
 * an append-only file under .data/redis; then the API and one worker. Ctrl-C / SIGTERM stops
 * the worker and API first (they drain), then Redis (which flushes its AOF), and exits 0 (or
 * the code of a service that did not stop cleanly). Redis runs in a process group of its own:
 * a terminal's Ctrl-C reaches every process of its foreground group at once, and Redis would
 * shut down while the worker still had to record the jobs it drained.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { intEnv, SERVICE_NODE_FLAGS, startRedisServer } from '../packages/shared/dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_REDIS_PORT = 6380;

/**
 * What holds the embedded Redis's port, in words a user can act on: most often a redis-server an
 * earlier `npm start` left running with this same data directory (its launcher was killed
 * outright, and Redis runs in a process group of its own), or one still running elsewhere.
 */
async function portTakenHint(port, dir) {
  const other = `set EMBEDDED_REDIS_PORT to a free port, or REDIS_URL to a Redis of your own`;
  const { Redis } = await import('ioredis');
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const [, theirs] = await probe.config('GET', 'dir');
    const same = (a, b) => {
      try {
        return realpathSync(a) === realpathSync(b);
      } catch {
        return false;
      }
    };
    if (same(theirs, dir)) {
      return `a redis-server with this data directory (${dir}) already runs on port ${port}: left by an \`npm start\` that was killed outright, or one still running. Stop it with \`redis-cli -p ${port} shutdown\` (its data is kept; on Windows, stop that process) and start again`;
    }
    return `port ${port} is taken by another Redis (its data in ${theirs}): ${other}`;
  } catch {
    return `port ${port} is taken by another program: ${other}`;
  } finally {
    probe.disconnect();
  }
}

function run(name, entry, env) {
  // The IPC channel is how a service learns that this launcher is gone (killed outright): it
  // closes with this process, and the service then stops itself (shared lifecycle.ts onShutdown).
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS[name], join(root, entry)], { cwd: root, env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  child.name = name;
  return child;
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

async function main() {
  let redis;
  const env = { ...process.env };
  if (!env.REDIS_URL) {
    // As the services read theirs: a variable set to nothing counts as unset; a bad port stops here.
    const dir = join(env.MAAS_DATA_DIR?.trim() || join(root, '.data'), 'redis');
    const portText = env.EMBEDDED_REDIS_PORT?.trim() || String(DEFAULT_REDIS_PORT);
    const parsed = intEnv(1, 65535).safeParse(portText); // the services' own number rule
    if (!parsed.success) {
      console.error(`[start] EMBEDDED_REDIS_PORT must be a port from 1 to 65535, not '${portText}'`);
      process.exit(1);
    }
    const port = parsed.data;
    try {
      redis = await startRedisServer({ dir, port, ownProcessGroup: true });
    } catch (err) {
      console.error(`[start] ${/Address already in use/.test(err.message) ? await portTakenHint(port, dir) : err.message}`);
      process.exit(1);
    }
    env.REDIS_URL = redis.url;
    // Out of our group, so not stopped with us unless we stop it: also if this process fails.
    process.on('exit', () => redis.process.exitCode === null && redis.process.signalCode === null && redis.process.kill('SIGTERM'));
    console.error(`[start] embedded redis-server on ${redis.url} (append-only file in ${dir})`);
  }
  const api = run('api', 'apps/api/dist/main.js', env);
  const worker = run('worker', 'apps/worker/dist/main.js', env);
  const children = [worker, api];

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) {
      if (c.exitCode !== null) continue;
      // Windows has no signal to send: kill('SIGTERM') ends a process outright, with no drain.
      // There a service is stopped by closing its IPC channel (shared lifecycle.ts onShutdown).
      if (process.platform !== 'win32') c.kill('SIGTERM');
      else if (c.connected) c.disconnect();
      else c.kill(); // no channel left to close: ended outright
    }
    await Promise.all(children.map(exited));
    if (redis) await redis.stop();
    const unclean = children.find((c) => c.exitCode !== 0);
    if (unclean && code === 0) console.error(`[start] ${unclean.name} did not stop cleanly (exit ${unclean.exitCode ?? unclean.signalCode})`);
    process.exit(code || (unclean ? unclean.exitCode || 1 : 0));
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  for (const c of children) {
    c.once('exit', (code) => {
      if (!stopping) {
        console.error(`[start] ${c.name} exited with ${code}; stopping the rest`);
        void stop(code || 1);
      }
    });
  }
}

void main();
