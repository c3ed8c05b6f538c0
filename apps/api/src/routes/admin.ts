/**
 * `/admin` (behind http/admin-auth.ts): our status page and its JSON, and the @bull-board
 * queue board at `/admin/queues` over every served version's queue, every other model queue
 * that still holds jobs, and the webhook delivery queue.
 * The board is read-only, retries included: a job added, retried or removed there would skip
 * the API's checks and the ledger that records how every job ends. Its writes are a 405 problem,
 * and its JSON a 503 problem while Redis does not answer.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { answeredWithin, isRedisUnavailable, RedisUnavailableError } from '@maas/shared';
import { methodNotAllowed } from '../http/problem.js';
import { statusPage } from '../admin/page.js';
import { closeConnectionsOnStop } from '../http/closing.js';
import type { Deps } from '../deps.js';
import { unservedQueues } from '../services/unserved-queues.js';
import { boardData, boardReturnValue } from '../admin/board-view.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

export function adminRouter({ catalog, queues, webhookQueue, status, redis, config, shutdown }: Deps): Router {
  const r = Router();
  const page = statusPage(config.PUBLIC_PATH);
  r.get('/admin', statusPageHeaders(page.scriptHash), (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(page.html);
  });
  r.get('/admin/status.json', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await status.status());
  });

  // The base path is only the <base> of the board's page, from which its files, its JSON and its
  // own links are found: where browsers reach it (behind a proxy that strips PUBLIC_PATH); it is
  // still mounted at QUEUE_BOARD_PATH below.
  const serverAdapter = new ExpressAdapter().setBasePath(`${config.PUBLIC_PATH}${QUEUE_BOARD_PATH}`);
  // Read-only: a job moved by hand (retried, removed, promoted) would end outside the ledger
  // that records how every job ends (bull-board's read-only mode also turns retries off).
  const options = { readOnlyMode: true };
  const servedQueues = () => catalog.models.flatMap((m) => m.versions.map((v) => queues.forVersion(v.model, v.version)));
  // Shapes, never tenants' data: inputs, outputs, metadata, webhook bodies and URLs (admin/board-view.ts).
  const adapters = (list: Queue[]) => list.map((q) => {
    const adapter = new BullMQAdapter(q, { ...options, displayName: q.name.replace(/[{}]/g, '') });
    adapter.setFormatter('data', boardData);
    adapter.setFormatter('returnValue', boardReturnValue);
    return adapter;
  });
  let shown = [...servedQueues(), webhookQueue] as Queue[];
  const board = createBullBoard({ queues: adapters(shown), serverAdapter, options: { uiConfig: { boardTitle: 'maas queues' } } });
  // Models may come and go while the API runs: the board follows the catalog, and shows a
  // version no longer served while its queue holds jobs (services/unserved-queues.ts).
  let unserved: { at: number; names: string[] } = { at: 0, names: [] };
  const current = async (): Promise<Queue[]> => {
    const served = servedQueues();
    if (Date.now() - unserved.at >= UNSERVED_READ_MS) {
      unserved = { at: Date.now(), names: (await unservedQueues(redis, queues, catalog)).map((u) => u.name) };
    }
    return [...served, ...unserved.names.map((n) => queues.readOnly(n)), webhookQueue] as Queue[];
  };
  // The board's router is an express app of its own, which would send X-Powered-By again.
  const boardApp = serverAdapter.getRouter() as Express;
  boardApp.disable('x-powered-by');
  // Its answers go through its own response prototype: closed after a stop as the API's (http/closing.ts).
  closeConnectionsOnStop(boardApp, shutdown);
  r.use(QUEUE_BOARD_PATH, boardHeaders, readOnlyBoard, boardRedis(redis), (_req, _res, next) => {
    current().then((now) => {
      if (now.map((q) => q.name).join() !== shown.map((q) => q.name).join()) board.replaceQueues(adapters((shown = now)));
      next();
    }, next);
  }, boardApp);
  return r;
}

/**
 * The admin pages' security headers (helmet): a Content-Security-Policy that lets each page load
 * only its own scripts and styles and be framed by no site, `nosniff` and the like (a browser
 * audit: they sent none, and the board's template asks a third-party site for its fonts, telling
 * it each time an operator opens the page). Not HSTS: whether the API is served over TLS is its
 * proxy's to say.
 */
const securityHeaders = (directives: Record<string, string[]>) =>
  helmet({ contentSecurityPolicy: { useDefaults: false, directives: { baseUri: ["'none'"], ...directives, formAction: ["'none'"], frameAncestors: ["'none'"] } }, strictTransportSecurity: false, xFrameOptions: { action: 'deny' } });
/** The status page: its one inline script (by hash), its inline style, its JSON. */
const statusPageHeaders = (scriptHash: string) => securityHeaders({ defaultSrc: ["'none'"], scriptSrc: [scriptHash], styleSrc: ["'unsafe-inline'"], imgSrc: ['data:'], connectSrc: ["'self'"] });
/** The queue board (bull-board): its own files (found through its template's <base>), and the inline styles its React app sets; its template's Google Fonts link is refused (the system fonts stand in). */
const boardHeaders = securityHeaders({ defaultSrc: ["'self'"], baseUri: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] });

/** How long the board's list of unserved queues with jobs is kept before it is read again. */
const UNSERVED_READ_MS = 5000;

const BOARD_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/**
 * The board's pages and its JSON (`/admin/queues/api/…`) are only read: a write (which bull-board
 * refuses in read-only mode with its own body) is our 405 problem with `Allow`, as on every route.
 */
const readOnlyBoard: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  if (req.method === 'OPTIONS') return void res.set('Allow', BOARD_METHODS.join(', ')).status(204).end();
  next(methodNotAllowed(req.method, req.originalUrl.split('?')[0]!, BOARD_METHODS, ': the queue board is read-only'));
};

/**
 * The board's JSON reads the queues: with Redis unreachable, or not answering within a couple of
 * seconds, it is a 503 problem with Retry-After, as every route's (bull-board answered a 500 with
 * ioredis's message).
 */
const boardRedis = (redis: Redis): RequestHandler => (req, _res, next) => {
  if (!req.path.startsWith('/api/')) return next();
  answeredWithin(redis.ping(), BOARD_REDIS_WAIT_MS, 'the queue board\'s PING').then(
    () => next(),
    (err: unknown) => next(isRedisUnavailable(err) ? new RedisUnavailableError(err) : err),
  );
};

const BOARD_REDIS_WAIT_MS = 2000;
