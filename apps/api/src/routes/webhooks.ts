/** Webhook routes: the signing secret, a job's or batch's delivery history, redelivery (CONTRACT §5). */
import { Router } from 'express';
import type { Deps } from '../deps.js';

export function webhooksRouter({ webhooks }: Deps): Router {
  const r = Router();

  r.get('/v1/webhooks/secret', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ secret: webhooks.secret });
  });

  r.get(['/v1/jobs/:id/webhooks', '/v1/batches/:id/webhooks'], async (req, res) => {
    res.json({ object: 'list', data: await webhooks.list(req.tenant, String(req.params['id'])) });
  });

  r.post(['/v1/jobs/:id/webhooks/:msgId/redeliver', '/v1/batches/:id/webhooks/:msgId/redeliver'], async (req, res) => {
    res.status(202).json(await webhooks.redeliver(req.tenant, String(req.params['id']), String(req.params['msgId'])));
  });

  return r;
}
