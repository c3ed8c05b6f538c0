/** Webhook routes: the tenant's signing secret and its rotation, a job's or batch's delivery history, redelivery (CONTRACT §5). */
import { Router } from 'express';
import type { Deps } from '../deps.js';

export function webhooksRouter({ webhooks, config }: Deps): Router {
  const r = Router();

  // The caller's own secret: another tenant's never verifies this tenant's deliveries.
  r.get('/v1/webhooks/secret', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await webhooks.secret(req.tenant));
  });

  r.post('/v1/webhooks/secret/rotate', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await webhooks.rotate(req.tenant));
  });

  for (const [kind, base] of [['job', '/v1/jobs'], ['batch', '/v1/batches']] as const) {
    r.get(`${base}/:id/webhooks`, async (req, res) => {
      res.json({ object: 'list', data: await webhooks.list(req.tenant, kind, String(req.params['id'])) });
    });

    r.post(`${base}/:id/webhooks/:msgId/redeliver`, async (req, res) => {
      const delivery = await webhooks.redeliver(req.tenant, kind, String(req.params['id']), String(req.params['msgId']));
      // Its attempts show in the subject's history.
      res.status(202).setHeader('Location', `${config.PUBLIC_PATH}${base}/${encodeURIComponent(String(req.params['id']))}/webhooks`).json(delivery);
    });
  }

  return r;
}
