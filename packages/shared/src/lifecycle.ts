/**
 * Process lifecycle shared by the API and the worker: start-up failures and clean stops.
 * (CONTRACT §1: every process stops cleanly on SIGTERM/SIGINT and exits 0.)
 */
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

/** Runs `main`; a ConfigError prints its list of problems, anything else is logged; both exit 1. */
export function runMain(log: Logger, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) log.fatal(err.message);
    else log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}

/**
 * Calls `stop` once on the first SIGTERM or SIGINT (a second signal while stopping is
 * ignored, so a double Ctrl-C cannot cut a drain short), then exits 0; 1 if `stop` threw.
 */
export function onShutdown(log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
