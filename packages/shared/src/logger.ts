/** pino loggers: JSON lines with the service name and pid; `LOG_LEVEL` sets the level. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    redact: ['req.headers.authorization', 'secret', '*.secret'],
  });
}
