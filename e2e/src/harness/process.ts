/** A service process (API or worker) started from its built entry point, with its output kept for failures. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The built entry points of the services. */
export const API_ENTRY = join(REPO_ROOT, 'apps/api/dist/main.js');
export const WORKER_ENTRY = join(REPO_ROOT, 'apps/worker/dist/main.js');

export class ServiceProcess {
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output.push(text);
      if (process.env['MAAS_TEST_VERBOSE']) process.stderr.write(`[${name}] ${text}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(name: string, entry: string, env: Record<string, string>, nodeArgs: string[] = []): ServiceProcess {
    return ServiceProcess.run(name, process.execPath, [...nodeArgs, entry], env);
  }

  /**
   * Any command (e.g. redis-server, or `ip netns exec <ns> node …`), with only PATH, LOG_LEVEL
   * and `env` in its environment. A wrapper that execs its command (as `ip netns exec` does)
   * keeps the pid, so signals reach the service itself.
   */
  static run(name: string, command: string, args: string[], env: Record<string, string> = {}): ServiceProcess {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(name, child);
  }

  get log(): string {
    return this.output.join('');
  }

  /** Resolves when a log line matches `pattern`; rejects if the process exits first or time runs out. */
  async waitFor(pattern: RegExp, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.log)) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}) before ${pattern}:\n${this.log.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${pattern} within ${ms} ms:\n${this.log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  exit(): Promise<number | null> {
    return this.exited;
  }
}

/**
 * Starts a service that should refuse to run (`env` its whole environment but PATH and
 * LOG_LEVEL): its exit code ('hung' if it ran `ms` without exiting, then killed), how long it
 * took, and its log.
 */
export async function startAndExit(name: string, entry: string, env: Record<string, string | undefined>, ms = 15_000): Promise<{ code: number | null | 'hung'; ms: number; log: string }> {
  const t0 = Date.now();
  const p = ServiceProcess.start(name, entry, Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
  const code = await Promise.race([p.exit(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);
  if (code === 'hung') await p.stop('SIGKILL');
  return { code, ms: Date.now() - t0, log: p.log };
}
