/**
 * Two tenants, one worker running `mlp`, and a real webhook receiver: the set-up of the
 * per-tenant webhook secret tests. `delivery` runs one job for a tenant and resolves with its
 * job.completed delivery; `verifies` checks a delivery with `standardwebhooks`, the independent
 * verifier a tenant's receiver would run.
 */
import { Webhook } from 'standardwebhooks';
import { Cluster } from './cluster.js';
import { eventually } from './eventually.js';
import { call, rows, type Reply } from './http.js';
import { WebhookReceiver, type Received } from './webhook-receiver.js';

export const TENANT_KEYS = { alpha: 'key-alpha', beta: 'key-beta' } as const;

export class TenantWebhooks {
  private constructor(readonly cluster: Cluster, readonly recv: WebhookReceiver) {}

  /** `api` adds to the API's environment (WEBHOOK_SECRET_OVERLAP, say). */
  static async start(api: Record<string, string> = {}): Promise<TenantWebhooks> {
    const cluster = await Cluster.start({
      workers: 1,
      api: { API_KEYS: `alpha:${TENANT_KEYS.alpha},beta:${TENANT_KEYS.beta}`, WEBHOOK_ALLOW_PRIVATE: 'true', ...api },
      worker: { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '1s' },
    });
    try {
      return new TenantWebhooks(cluster, await WebhookReceiver.start());
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.recv.close();
    await this.cluster.stop();
  }

  api(key: string, method: string, path: string, body?: unknown): Promise<Reply> {
    return call(this.cluster.url, method, path, body, { authorization: `Bearer ${key}` });
  }

  /** Runs one job for `key` with a webhook (once the API accepts it: 15 s); resolves with its job.completed delivery. */
  async delivery(key: string, seed: number): Promise<Received> {
    const job = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }], webhook: this.recv.url, webhook_events_filter: ['completed'] };
    const c = await eventually(() => this.api(key, 'POST', '/v1/jobs', job), (r) => r.status === 202, { ms: 15_000, every: 200, what: 'a 202' });
    const mine = (x: Received) => JSON.parse(x.body).data.id === c.body.id;
    await this.recv.until((all) => all.some(mine), 20_000, `the webhook of ${c.body.id}`);
    return this.recv.received.find(mine)!;
  }
}

/** Whether `secret` verifies delivery `r`'s signature. */
export function verifies(secret: string, r: Received): boolean {
  try {
    new Webhook(secret).verify(r.body, r.headers);
    return true;
  } catch {
    return false;
  }
}
