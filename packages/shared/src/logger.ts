/**
 * pino loggers with the service name and pid; `LOG_LEVEL` sets the level. On a terminal the
 * lines are human-readable (pino-pretty, in-process: a person is reading, not a collector);
 * anywhere else, JSON lines. `LOG_FORMAT=json|pretty` overrides the choice.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** PURE: pretty lines or JSON, from LOG_FORMAT and whether stdout is a terminal. */
export function logFormat(env: string | undefined, isTty: boolean): 'pretty' | 'json' {
  if (env === 'json' || env === 'pretty') return env;
  return isTty ? 'pretty' : 'json';
}

export function createLogger(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  const options = {
    name: service,
    level,
    base: { service, pid: process.pid },
    redact: ['req.headers.authorization', 'secret', '*.secret'],
  };
  if (logFormat(process.env['LOG_FORMAT'], process.stdout.isTTY === true) === 'json') return pino(options);
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }));
}
