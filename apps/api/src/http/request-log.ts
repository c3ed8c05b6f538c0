/**
 * Each request's id (`X-Request-Id` when `givenRequestId` takes it, else a random UUID) and a logger bound to it (`req.log`),
 * both made only when something asks: getters on the app's request prototype, so a request
 * that logs nothing costs nothing here. (pino-http made a child logger and serialised the
 * request for every request: ~8 % of the API's CPU at 1,000 requests/s, BENCHMARKS.md.)
 * With LOG_LEVEL=debug, `accessLog` writes a line per request (health probes excepted).
 */
import { randomUUID } from 'node:crypto';
import type { Express, RequestHandler } from 'express';
import type { Logger } from '@maas/shared';

declare module 'express-serve-static-core' {
  interface Request {
    /** X-Request-Id (givenRequestId), or a random UUID */
    readonly id: string;
    /** the app's logger bound to this request's id, method and URL */
    readonly log: Logger;
  }
}

const ID = Symbol('request id');
const LOG = Symbol('request log');

interface Lazy {
  [ID]?: string;
  [LOG]?: Logger;
  headers: Record<string, string | string[] | undefined>;
  method: string;
  originalUrl: string;
}

export function installRequestLog(app: Express, log: Logger): void {
  Object.defineProperties(app.request, {
    id: {
      configurable: true,
      get(this: Lazy): string {
        return (this[ID] ??= givenRequestId(this.headers['x-request-id']) ?? randomUUID());
      },
    },
    log: {
      configurable: true,
      get(this: Lazy & { id: string }): Logger {
        return (this[LOG] ??= log.child({ req: { id: this.id, method: this.method, url: loggableUrl(this.originalUrl) } }));
      },
    },
  });
}

/**
 * PURE: a request's URL as it may be logged: a `webhook=` query value (a batch's target, whose
 * path or query often is its credential: a Slack or Discord hook) replaced by `[redacted]`.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0 || !/[?&]webhook=/i.test(url)) return url;
  return url.slice(0, q) + url.slice(q).replace(/([?&]webhook=)[^&#]*/gi, '$1[redacted]');
}

/**
 * A request's own `X-Request-Id` sent back on its answer (as proxies and platforms that set one
 * do), so a client can match an answer to the log lines its id is in. Only one a client sent:
 * a made-up one would cost a UUID a request and name nothing the client knows. One a header
 * may not carry going out (Node's own check) or longer than 200 characters is not echoed.
 */
export function echoRequestId(): RequestHandler {
  return (req, res, next) => {
    const given = givenRequestId(req.headers['x-request-id']);
    if (given) res.setHeader('X-Request-Id', given);
    next();
  };
}

/**
 * PURE: a client's `X-Request-Id` when it may name its request in the logs and on the answer: 1
 * to 200 visible ASCII characters. Another (16 KB of text, control characters, several values)
 * is replaced by a random UUID in the logs (an on-call audit: any text was logged as sent).
 */
export function givenRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && header.length > 0 && header.length <= 200 && /^[\x21-\x7e]+$/.test(header) ? header : undefined;
}

/** Access lines, for LOG_LEVEL=debug only: at thousands of requests a second they would cost more than the requests. */
export function accessLog(): RequestHandler {
  return (req, res, next) => {
    if (/^\/v2\/health(\/|$)/i.test(req.path)) return next();
    const started = performance.now();
    // Taken now: a sub-app (the queue board's) gives the request another prototype on its way,
    // without the `log` getter, and a throw in this listener would end the process.
    const log = req.log;
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug';
      log[level]({ res: { status: res.statusCode }, responseTime: Math.round(performance.now() - started) }, 'request completed');
    });
    next();
  };
}
