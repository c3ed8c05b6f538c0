/**
 * Process lifecycle shared by the API and the worker: start-up failures and clean stops.
 * (CONTRACT §1: every process stops cleanly on SIGTERM/SIGINT and exits 0.)
 *
 * A stop signal can come while the process is still starting (a Ctrl-C right after `npm
 * start`, a rolling update): Node's default for SIGTERM and SIGINT kills the process, so a
 * worker that had begun taking jobs while its other models loaded was killed with them. From
 * `runMain` on, such a signal is held, and the process stops as usual, draining what it took,
 * as soon as its start-up has registered how (`onShutdown`); a start-up that has not got there
 * STARTUP_STOP_GRACE_MS after the signal (stuck) is ended with exit 1.
 */
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What the lifecycle uses of `process` (the unit tests pass their own). */
export interface LifecycleProcess {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/** How long a stop signal held during start-up waits for the start-up to finish. */
export const STARTUP_STOP_GRACE_MS = 30_000;

/** The stop signal that came during start-up, and the listener that holds it until `onShutdown`. */
let startup: { signal?: NodeJS.Signals; giveUp?: NodeJS.Timeout; listener: (signal: NodeJS.Signals) => void; proc: LifecycleProcess } | undefined;

/** Stops holding start-up signals; returns the one that came meanwhile, if any. */
function endStartup(): NodeJS.Signals | undefined {
  if (!startup) return undefined;
  for (const s of STOP_SIGNALS) startup.proc.off(s, startup.listener);
  clearTimeout(startup.giveUp);
  const { signal } = startup;
  startup = undefined;
  return signal;
}

/**
 * Runs `main`; a ConfigError prints its list of problems, anything else is logged; both exit 1.
 * A SIGTERM or SIGINT before `main` has called `onShutdown` is held for it (see above); if
 * `main` returns without calling it, a held signal ends the process with 0.
 */
export function runMain(log: Logger, main: () => Promise<void>, proc: LifecycleProcess = process): void {
  const listener = (signal: NodeJS.Signals) => {
    if (!startup || startup.signal) return;
    startup.signal = signal;
    log.info({ signal }, 'stop requested while starting: stopping as soon as started');
    startup.giveUp = setTimeout(() => {
      log.error({ signal, ms: STARTUP_STOP_GRACE_MS }, 'start-up did not finish after the stop signal: exiting');
      proc.exit(1);
    }, STARTUP_STOP_GRACE_MS);
  };
  startup = { listener, proc };
  for (const s of STOP_SIGNALS) proc.on(s, listener);
  main().then(
    () => {
      if (endStartup()) proc.exit(0);
    },
    (err: unknown) => {
      endStartup();
      if (err instanceof ConfigError) log.fatal(err.message);
      else log.fatal({ err }, 'failed to start');
      proc.exit(1);
    },
  );
}

/**
 * Calls `stop` once on the first SIGTERM or SIGINT (a second signal while stopping is
 * ignored, so a double Ctrl-C cannot cut a drain short), then exits 0; 1 if `stop` threw.
 * A signal held since start-up (`runMain`) calls it at once. A process started with an IPC
 * channel (by `npm start`'s launcher, scripts/start.mjs) also stops so when the channel
 * closes: the launcher was killed outright (`kill -9`), and its API and worker must not run
 * on as orphans holding their ports.
 */
export function onShutdown(log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>, proc: LifecycleProcess = process): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => proc.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        proc.exit(1);
      },
    );
  };
  for (const s of STOP_SIGNALS) proc.on(s, handle);
  if (proc === process && process.connected) {
    process.channel?.unref(); // the channel alone keeps nothing running
    process.once('disconnect', () => {
      log.warn('the launcher that started this process is gone, or is stopping it (Windows): stopping');
      handle('SIGTERM');
    });
  }
  const held = endStartup();
  if (held) handle(held);
}
