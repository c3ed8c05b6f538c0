/**
 * `/admin` (behind http/admin-auth.ts): our status page and its JSON, and the @bull-board
 * queue board at `/admin/queues` over every inference queue and the webhook delivery queue.
 * The board is read-only, retries included: a job added, retried or removed there would skip
 * the API's checks and the ledger that records how every job ends.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Queue } from 'bullmq';
import { STATUS_PAGE } from '../admin/page.js';
import type { Deps } from '../deps.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

export function adminRouter({ catalog, queues, webhookQueue, status }: Deps): Router {
  const r = Router();
  r.get('/admin', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(STATUS_PAGE);
  });
  r.get('/admin/status.json', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await status.status());
  });

  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  // Read-only: a job moved by hand (retried, removed, promoted) would end outside the ledger
  // that records how every job ends (bull-board's read-only mode also turns retries off).
  const options = { readOnlyMode: true };
  const current = () => [...catalog.models.flatMap((m) => m.versions.map((v) => queues.forVersion(v.model, v.version))), webhookQueue];
  const adapters = (list: Queue[]) => list.map((q) => new BullMQAdapter(q, { ...options, displayName: q.name.replace(/[{}]/g, '') }));
  let shown = current() as Queue[];
  const board = createBullBoard({ queues: adapters(shown), serverAdapter, options: { uiConfig: { boardTitle: 'maas queues' } } });
  // Models may come and go while the API runs: the board follows the catalog.
  r.use(QUEUE_BOARD_PATH, (_req, _res, next) => {
    const now = current() as Queue[];
    if (now.map((q) => q.name).join() !== shown.map((q) => q.name).join()) board.replaceQueues(adapters((shown = now)));
    next();
  }, serverAdapter.getRouter() as Router);
  return r;
}
