/**
 * Docker plumbing for the containers test: finding or starting a Docker engine, building the
 * local base images where no public registry is reachable, building the project image with
 * extra CA certificates as a BuildKit secret, and docker-compose. Every command has a timeout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, type Reply } from '../src/harness/http.js';

export type { Reply };

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** fail (throw) on a non-zero exit; default true */
  check?: boolean;
  /** a shell command line instead of argv (pipes) */
  shell?: boolean;
}

const log = (msg: string) => console.log(`[containers] ${msg}`);
export { log };

/** Runs a command to its end or its timeout (then SIGKILL), collecting its output. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = opts.shell
      ? spawn('sh', ['-c', cmd], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const what = opts.shell ? cmd : [cmd, ...args].join(' ');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      // if something else still holds its output pipes, 'close' may never come
      setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMs} ms: ${what}\n${tail(stderr || stdout)}`)), 5000).unref();
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const r = { code, stdout, stderr, ms: Date.now() - t0 };
      if (timedOut) return reject(new Error(`timed out after ${opts.timeoutMs} ms: ${what}\n${tail(stderr || stdout)}`));
      if (code !== 0 && opts.check !== false) return reject(new Error(`exit ${code}: ${what}\n${tail(stderr || stdout)}`));
      resolvePromise(r);
    });
  });
}

export const tail = (text: string, lines = 25): string => text.trimEnd().split('\n').slice(-lines).join('\n');

const works = (cmd: string, args: string[], timeoutMs = 20_000): boolean => {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: timeoutMs });
  return r.status === 0;
};
const output = (cmd: string, args: string[], timeoutMs = 20_000): string | undefined => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return r.status === 0 ? r.stdout.trim() : undefined;
};
const onPath = (name: string): boolean => works('sh', ['-c', `command -v ${name}`]);

export interface Docker {
  /** a docker CLI that builds with BuildKit (buildx, or a classic client with DOCKER_BUILDKIT=1) */
  cli: string;
  /** argv of docker-compose (v1) or `docker compose` (v2) */
  compose: string[];
  /** the dockerd this run started (stopped at the end), if any */
  daemon?: ChildProcess;
  daemonLog?: string;
  versions: string;
}

export type DockerProbe = { ok: true; docker: Docker } | { ok: false; reason: string };

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** `apt-get install` when this is a root Debian/Ubuntu machine and installing is allowed. */
async function aptInstall(packages: string[]): Promise<boolean> {
  if (!isRoot() || !onPath('apt-get') || process.env['MAAS_TEST_NO_INSTALL']) return false;
  log(`installing ${packages.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { timeoutMs: 300_000, env, check: false });
  let r = await install();
  if (r.code !== 0) {
    await run('apt-get', ['update', '-qq'], { timeoutMs: 180_000, env, check: false });
    r = await install();
  }
  if (r.code !== 0) log(`apt-get install failed:\n${tail(r.stderr)}`);
  return r.code === 0;
}

const dockerInfo = (cli: string): boolean => works(cli, ['info'], 15_000);

/** Starts `dockerd` (niced: builds and containers share the machine) and waits for it. */
async function startDaemon(attempt: number): Promise<{ daemon: ChildProcess; logFile: string } | { error: string }> {
  const logFile = join(tmpdir(), `maas-containers-dockerd-${process.pid}-${attempt}.log`);
  const fd = openSync(logFile, 'a');
  const cmd = onPath('nice') ? 'nice' : 'dockerd';
  const args = cmd === 'nice' ? ['-n', '10', 'dockerd'] : [];
  const daemon = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  let exited = false;
  daemon.on('exit', () => (exited = true));
  daemon.on('error', () => (exited = true));
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline && !exited) {
    if (dockerInfo('docker')) return { daemon, logFile };
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!exited) {
    daemon.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  return { error: tail(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '', 8) };
}

/**
 * Finds a working Docker engine, or installs Debian's docker.io and docker-compose and starts
 * dockerd when this is root on Debian without one (a docker CLI without an engine included).
 * Says why not when it cannot.
 */
export async function probeDocker(): Promise<DockerProbe> {
  if (process.env['MAAS_SKIP_CONTAINERS']) return { ok: false, reason: 'MAAS_SKIP_CONTAINERS is set' };
  if (!onPath('docker') || !(onPath('docker-compose') || works('docker', ['compose', 'version']))) {
    await aptInstall(['docker.io', 'docker-compose']);
  }
  if (!onPath('docker')) return { ok: false, reason: 'no docker CLI, and it could not be installed (needs root and apt-get)' };
  // A docker CLI alone (a client for a remote engine, with none here to answer it): the engine
  // comes from Debian's docker.io.
  if (!onPath('dockerd') && !dockerInfo('docker')) await aptInstall(['docker.io']);

  let daemon: ChildProcess | undefined;
  let daemonLog: string | undefined;
  if (!dockerInfo('docker')) {
    if (!isRoot() || !onPath('dockerd')) {
      const why = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 15_000 }).stderr?.trim().split('\n').pop() ?? '';
      return { ok: false, reason: `docker info failed (${why || 'no answer'}), and dockerd cannot be started here (${isRoot() ? 'no dockerd' : 'not root'})` };
    }
    let lastError = '';
    for (let attempt = 1; attempt <= 3 && !daemon; attempt++) {
      log(`starting dockerd (attempt ${attempt})`);
      const started = await startDaemon(attempt);
      if ('daemon' in started) {
        daemon = started.daemon;
        daemonLog = started.logFile;
      } else lastError = started.error;
    }
    if (!daemon) return { ok: false, reason: `dockerd did not start (no permission or no kernel support?); its log ends:\n${lastError}` };
  }

  // `docker build` with BuildKit: a client with the buildx plugin, or a classic client (< 23)
  // whose DOCKER_BUILDKIT=1 uses the engine's built-in BuildKit.
  const candidates = [...new Set(['docker', '/usr/bin/docker', '/usr/local/bin/docker'])].filter((c) => c === 'docker' || existsSync(c));
  const cli = candidates.find((c) => {
    if (works(c, ['buildx', 'version'])) return true;
    const v = output(c, ['version', '--format', '{{.Client.Version}}']);
    return v !== undefined && Number(v.split('.')[0]) < 23;
  });
  const stop = async (reason: string): Promise<DockerProbe> => {
    if (daemon) await stopDaemon({ cli: 'docker', compose: [], daemon, versions: '' });
    return { ok: false, reason };
  };
  if (!cli) return stop('no docker client here builds with BuildKit (install the buildx plugin)');
  const compose = onPath('docker-compose') ? ['docker-compose'] : works(cli, ['compose', 'version']) ? [cli, 'compose'] : undefined;
  if (!compose) return stop('neither docker-compose nor `docker compose` is available');
  const versions = [
    `engine ${output(cli, ['version', '--format', '{{.Server.Version}}']) ?? '?'}`,
    `client ${cli} ${output(cli, ['version', '--format', '{{.Client.Version}}']) ?? '?'}`,
    `${compose.join(' ')} ${output(compose[0]!, [...compose.slice(1), 'version', '--short']) ?? '?'}`,
  ].join(', ');
  return { ok: true, docker: { cli, compose, daemon, daemonLog, versions } };
}

/** Stops the dockerd this run started (by its pid), and waits up to 30 s for it. */
export async function stopDaemon(docker: Docker): Promise<void> {
  const d = docker.daemon;
  if (!d || d.exitCode !== null) return;
  log('stopping the dockerd this run started');
  const exited = new Promise<void>((r) => d.once('exit', () => r()));
  d.kill('SIGTERM');
  const timer = setTimeout(() => d.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export const imageExists = (docker: Docker, image: string): boolean => works(docker.cli, ['image', 'inspect', image]);

/**
 * A Debian bookworm root filesystem (debootstrap --variant=minbase) imported as an image:
 * the base of every image of this test where no registry is reachable. Kept between runs.
 */
export async function ensureRootfs(docker: Docker, image: string): Promise<number> {
  if (imageExists(docker, image)) return 0;
  const t0 = Date.now();
  if (!onPath('debootstrap') && !existsSync('/usr/sbin/debootstrap')) await aptInstall(['debootstrap']);
  const dir = await mkdtemp(join(tmpdir(), 'maas-rootfs-'));
  try {
    const mirror = process.env['MAAS_TEST_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
    log(`debootstrap --variant=minbase bookworm (${mirror})`);
    await run('nice', ['-n', '10', 'debootstrap', '--variant=minbase', 'bookworm', dir, mirror], { timeoutMs: 400_000 });
    // without the package lists and downloaded .debs (apt-get update fetches fresh ones)
    await run(`tar -C '${dir}' --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*' -c . | ${docker.cli} import - '${image}'`, [], {
      timeoutMs: 180_000,
      shell: true,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return Date.now() - t0;
}

/** The npm that runs this Node (its package folder). */
function npmDir(): string {
  const beside = resolve(dirname(process.execPath), '../lib/node_modules/npm');
  if (existsSync(join(beside, 'bin/npm-cli.js'))) return beside;
  const root = output('npm', ['root', '-g']);
  if (root && existsSync(join(root, 'npm/bin/npm-cli.js'))) return join(root, 'npm');
  throw new Error('cannot find the npm package of this Node installation');
}

const buildEnv = () => ({ ...process.env, DOCKER_BUILDKIT: '1' });

/** rootfs + this machine's Node 20 and npm: the stand-in for node:20-bookworm-slim. */
export async function buildNodeBase(docker: Docker, rootfs: string, image: string): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'maas-base-'));
  try {
    await cp(process.execPath, join(ctx, 'node'));
    // relative symlinks stay relative (else the context, so the cache key, changes every run)
    await cp(npmDir(), join(ctx, 'npm'), { recursive: true, verbatimSymlinks: true });
    await run(docker.cli, ['build', '-q', '-f', join(HERE, 'base.Dockerfile'), '--build-arg', `ROOTFS=${rootfs}`, '-t', image, ctx], {
      timeoutMs: 300_000,
      env: buildEnv(),
    });
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/** Debian's redis-server on the rootfs: the stand-in for redis:7. */
export async function buildRedis(docker: Docker, rootfs: string, image: string): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'maas-redis-'));
  try {
    await run(docker.cli, ['build', '-q', '-f', join(HERE, 'redis.Dockerfile'), '--build-arg', `BASE=${rootfs}`, '-t', image, ctx], {
      timeoutMs: 300_000,
      env: buildEnv(),
    });
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

/**
 * Extra CA certificates for the build, as one PEM bundle: MAAS_EXTRA_CA_FILE, else the
 * machine's local CAs (/usr/local/share/ca-certificates/**.crt) and NODE_EXTRA_CA_CERTS.
 * Undefined when there are none.
 */
export function extraCaFiles(): string[] {
  const given = process.env['MAAS_EXTRA_CA_FILE'];
  if (given) return [given];
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.crt')) files.push(join(dir, e.name));
    }
  };
  walk('/usr/local/share/ca-certificates');
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  if (extra && existsSync(extra)) files.push(extra);
  return files;
}

/** One base64 line from the middle of each certificate: finding it in an image finds the cert. */
export function certMarkers(pem: string): string[] {
  const markers: string[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----\s*([\s\S]*?)-----END CERTIFICATE-----/g)) {
    const lines = m[1]!.split(/\s+/).filter((l) => l.length === 64);
    if (lines.length > 2) markers.push(lines[Math.floor(lines.length / 2)]!);
  }
  return markers;
}

export interface BuildResult {
  ms: number;
  bytes: number;
  log: string;
  caFiles: string[];
  markers: string[];
}

/** The project image, from the repository's Dockerfile, with the extra CAs as a build secret. */
export async function buildProject(docker: Docker, baseImage: string, image: string, opts: { noCache?: boolean } = {}): Promise<BuildResult> {
  const caFiles = extraCaFiles();
  const secretDir = await mkdtemp(join(tmpdir(), 'maas-ca-'));
  const secret = join(secretDir, 'extra-ca.pem');
  const pem = (await Promise.all(caFiles.map((f) => readFile(f, 'utf8')))).join('\n');
  await writeFile(secret, pem, { mode: 0o600 });
  const logFile = join(tmpdir(), `maas-containers-build-${process.pid}.log`);
  try {
    const args = ['build', '--progress=plain', '--build-arg', `BASE_IMAGE=${baseImage}`, '-t', image];
    if (caFiles.length) args.push('--secret', `id=extra_ca,src=${secret}`);
    if (opts.noCache) args.push('--no-cache');
    args.push(REPO);
    const r = await run(docker.cli, args, { timeoutMs: 600_000, env: buildEnv(), check: false });
    await writeFile(logFile, r.stderr + r.stdout);
    if (r.code !== 0) throw new Error(`docker build failed (log: ${logFile}):\n${tail(r.stderr, 40)}`);
    const bytes = Number(output(docker.cli, ['image', 'inspect', '-f', '{{.Size}}', image]));
    return { ms: r.ms, bytes, log: logFile, caFiles, markers: certMarkers(pem) };
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

/** Which of `markers` occur anywhere in the saved image (every layer, config and manifest). */
export function markersInImage(docker: Docker, image: string, markers: string[]): Promise<Set<string>> {
  return new Promise((resolvePromise, reject) => {
    const found = new Set<string>();
    const child = spawn(docker.cli, ['save', image], { stdio: ['ignore', 'pipe', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let carry = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = carry + d.toString('latin1');
      for (const m of markers) if (text.includes(m)) found.add(m);
      carry = text.slice(-128);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(found);
      else reject(new Error(`docker save ${image} exited ${code}`));
    });
  });
}

/** A copy of models/ readable by the image's `node` user, for MODELS_DIR. */
export async function modelsCopy(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-models-'));
  await cp(join(REPO, 'models'), dir, { recursive: true });
  await edit(dir);
  await run('chmod', ['-R', 'a+rX', dir], { timeoutMs: 10_000 });
  await chmod(dir, 0o755);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePromise(port));
    });
  });
}

/** docker-compose on the repository's docker-compose.yml, as project `project`. */
export class Compose {
  constructor(
    readonly docker: Docker,
    readonly project: string,
    readonly env: Record<string, string>,
  ) {}

  run(args: string[], timeoutMs: number, check = true): Promise<RunResult> {
    const [cmd, ...pre] = this.docker.compose;
    return run(cmd!, [...pre, '-p', this.project, '-f', join(REPO, 'docker-compose.yml'), ...args], {
      timeoutMs,
      cwd: REPO,
      env: { ...process.env, ...this.env },
      check,
    });
  }

  /** Container ids of a service (running ones unless `all`). */
  async containers(service: string, all = false): Promise<string[]> {
    const r = await run(
      this.docker.cli,
      ['ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${this.project}`, '--filter', `label=com.docker.compose.service=${service}`],
      { timeoutMs: 20_000 },
    );
    return r.stdout.split('\n').filter(Boolean);
  }

  async inspect(id: string, format: string): Promise<string> {
    return (await run(this.docker.cli, ['inspect', '-f', format, id], { timeoutMs: 20_000 })).stdout.trim();
  }

  async logs(id: string): Promise<string> {
    const r = await run(this.docker.cli, ['logs', id], { timeoutMs: 20_000, check: false });
    return r.stdout + r.stderr;
  }

  /** Stops and removes the project's containers, network and volumes. */
  async down(): Promise<void> {
    await this.run(['down', '-v', '--remove-orphans', '-t', '10'], 180_000, false);
  }
}

/** Takes down compose projects left by earlier runs of this test that were killed (their pid is gone). */
export async function removeStaleProjects(docker: Docker, prefix: string): Promise<void> {
  const r = await run(docker.cli, ['ps', '-a', '--format', '{{.Label "com.docker.compose.project"}}'], { timeoutMs: 20_000, check: false });
  const projects = new Set(r.stdout.split('\n').filter((p) => p.startsWith(prefix)));
  for (const p of projects) {
    const pid = Number(p.slice(prefix.length));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) continue;
    log(`removing the leftovers of an interrupted run: project ${p}`);
    await new Compose(docker, p, {}).down();
  }
}

/** Runs one step of the test with a deadline: a step that hangs fails with its name. */
export async function step<T>(name: string, ms: number, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${name}" did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
    log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** One HTTP request with a deadline (JSON in and out): the harness's `call`. */
export function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 60_000): Promise<Reply> {
  return call(base, method, path, body, headers, timeoutMs);
}
