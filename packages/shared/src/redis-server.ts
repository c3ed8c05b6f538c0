/**
 * Starts a private `redis-server` child: the embedded Redis of `npm start` and the one each
 * test suite owns. No npm package ships a Redis binary; it comes from the system's package
 * manager (Debian's `redis-server`, Homebrew's `redis`); Windows has no native build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface RedisServerOptions {
  /** default: a free port */
  port?: number;
  /** working directory for the append-only file; default: no persistence */
  dir?: string;
  bin?: string;
  /** forward the server's output to this process's stderr */
  verbose?: boolean;
  /** more redis-server arguments (e.g. cluster mode in tests) */
  extraArgs?: string[];
  /**
   * start it in a process group of its own (`npm start`): a terminal's Ctrl-C signals its whole
   * foreground group, and a Redis in that group shut down at once, before the services it serves
   * had drained (their held jobs' endings could not be recorded). Whoever starts it so must stop
   * it (`stop`), and if that process is killed outright (SIGKILL) this Redis stays running.
   */
  ownProcessGroup?: boolean;
}

export interface RedisServer {
  url: string;
  port: number;
  readonly process: ChildProcess;
  /** SHUTDOWN-like stop (SIGTERM: Redis flushes its AOF), resolves when the process exited */
  stop(): Promise<void>;
  /** SIGKILL: the crash case */
  kill(): Promise<void>;
  /** start again on the same port and directory (after stop or kill) */
  restart(): Promise<void>;
}

/** PURE: what to do when no redis-server can be found, in the words of `platform`'s users. */
export function missingRedisHint(platform: NodeJS.Platform): string {
  const own = 'set REDIS_SERVER_BIN to its path, or set REDIS_URL to an existing Redis';
  if (platform === 'darwin') return `redis-server was not found. Install it (brew install redis), ${own}.`;
  if (platform === 'win32') {
    return 'redis-server was not found, and Redis has no native Windows build: run one in Docker (docker run -d -p 6379:6379 redis:7) '
      + "or WSL and set REDIS_URL (PowerShell: $env:REDIS_URL='redis://127.0.0.1:6379'), use `docker compose up`, or set REDIS_SERVER_BIN to a Redis-compatible server (Memurai).";
  }
  return `redis-server was not found. Install Debian's package (apt-get install -y redis-server) or your system's, ${own}.`;
}

export const MISSING_REDIS_HINT = missingRedisHint(process.platform);

/** Where Homebrew puts redis-server (Apple Silicon, Intel): a shell's PATH has it, an IDE's task runner started from the Dock often has not. */
const HOMEBREW_REDIS = ['/opt/homebrew/bin/redis-server', '/usr/local/bin/redis-server'];

/** The redis-server to run when none is named: on macOS, Homebrew's when `redis-server` is not on PATH. */
function defaultBin(): string {
  if (process.platform !== 'darwin' || onPath('redis-server')) return 'redis-server';
  return HOMEBREW_REDIS.find((p) => existsSync(p)) ?? 'redis-server';
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(`${dir}/${name}`));
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function launch(bin: string, port: number, dir: string | undefined, verbose: boolean, extraArgs: string[], ownProcessGroup: boolean): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', 'noeviction',
    ...(dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']),
    ...extraArgs,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: ownProcessGroup, windowsHide: true });
    let out = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${out}`)), 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? new Error(MISSING_REDIS_HINT) : err);
    const onExit = (code: number | null) => fail(new Error(`redis-server exited with ${code}:\n${out}`));
    child.once('error', onError);
    child.once('exit', onExit);
    const onData = (chunk: Buffer) => {
      if (verbose) process.stderr.write(chunk);
      if (out.length < 20_000) out += chunk.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? process.env['REDIS_SERVER_BIN'] ?? defaultBin();
  const verbose = options.verbose ?? false;
  if (options.dir) await mkdir(options.dir, { recursive: true });
  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  for (let attempt = 0; !child; attempt++) {
    try {
      child = await launch(bin, port, options.dir, verbose, options.extraArgs ?? [], options.ownProcessGroup ?? false);
    } catch (err) {
      // Another process may have taken the free port between the probe and the bind.
      if (options.port !== undefined || attempt >= 3 || (err as Error).message === MISSING_REDIS_HINT) throw err;
      port = await freePort();
    }
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get process() {
      return child!;
    },
    async stop() {
      child!.kill('SIGTERM');
      await waitExit(child!);
    },
    async kill() {
      child!.kill('SIGKILL');
      await waitExit(child!);
    },
    async restart() {
      await waitExit(child!);
      child = await launch(bin, port, options.dir, verbose, options.extraArgs ?? [], options.ownProcessGroup ?? false);
    },
  };
  return server;
}
