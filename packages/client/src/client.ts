/**
 * `MaasClient`: the SDK's entry point. One instance per base URL and key; it holds no
 * connection state of its own (fetch pools connections), so sharing one is cheap and safe.
 *
 *   const maas = new MaasClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.MAAS_API_KEY });
 *   const job = await maas.jobs.run({ model: 'penguins', inputs: [...] });
 */
import { Batches } from './batches.js';
import { Health } from './health.js';
import { Jobs } from './jobs.js';
import { modelPath, Models } from './models.js';
import { Transport, withArray, type CallOptions, type TransportOptions } from './transport.js';
import { refuseBinaryOutputs } from './json.js';
import type { InferResponse, RequestedOutput, Tensor, WebhookSecrets } from './types.js';

/** Options of a MaasClient (the transport's: base URL, key, timeouts, retries). */
export type MaasClientOptions = TransportOptions;

const SECRETS = { what: 'a webhook secret', is: (b: unknown) => typeof (b as { secret?: unknown } | undefined)?.secret === 'string' };

export interface InferOptions extends CallOptions {
  version?: number | string | undefined;
  /** outputs to return (names, or with `parameters: {classification: k}`); default all */
  outputs?: (string | RequestedOutput)[] | undefined;
  /** echoed back as the response's `id` */
  id?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
}

export class MaasClient {
  readonly jobs: Jobs;
  readonly batches: Batches;
  readonly models: Models;
  readonly health: Health;
  private readonly http: Transport;

  constructor(opts: MaasClientOptions) {
    this.http = new Transport(opts);
    this.jobs = new Jobs(this.http);
    this.batches = new Batches(this.http);
    this.models = new Models(this.http);
    this.health = new Health(this.http);
  }

  /** The base URL requests go to (without a trailing slash). */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /**
   * The `whsec_…` secret this key's tenant's webhooks are signed with (`GET /v1/webhooks/secret`), for
   * `verifyWebhook`. Fetch it once at start-up rather than per delivery.
   */
  async webhookSecret(opts: CallOptions = {}): Promise<string> {
    return (await this.webhookSecrets(opts)).secret;
  }

  /**
   * All the secrets signing this key's tenant's webhooks now: the current one and those rotated
   * out that still sign beside it. `verifyWebhook([s.secret, ...s.previous.map((p) => p.secret)], …)`
   * accepts a delivery signed with any of them.
   */
  async webhookSecrets(opts: CallOptions = {}): Promise<WebhookSecrets> {
    const { body } = await this.http.json<WebhookSecrets>({ method: 'GET', path: '/v1/webhooks/secret', expect: SECRETS, ...opts });
    return body;
  }

  /**
   * Starts a new signing secret (`POST /v1/webhooks/secret/rotate`); the old one keeps signing
   * beside it for `overlap_seconds`, so receivers can switch over. A secret set in the cluster's
   * WEBHOOK_SECRET is rotated there instead (MaasApiError 409 `secret-from-config`).
   */
  async rotateWebhookSecret(opts: CallOptions = {}): Promise<WebhookSecrets> {
    const { body } = await this.http.json<WebhookSecrets>({ method: 'POST', path: '/v1/webhooks/secret/rotate', expect: SECRETS, ...opts });
    return body;
  }

  /**
   * KServe v2 synchronous inference: `POST /v2/models/{m}[/versions/{v}]/infer`. Goes through
   * the same queue and batcher as jobs; the response's `job_id` names the job that served it.
   */
  async infer(model: string, inputs: Tensor[], opts: InferOptions = {}): Promise<InferResponse> {
    refuseBinaryOutputs(opts.parameters, opts.outputs);
    const { body, response } = await this.http.json<InferResponse>({
      method: 'POST',
      path: `${modelPath(model, opts.version)}/infer`,
      expect: withArray('an inference answer', 'outputs'),
      json: {
        ...(opts.id !== undefined ? { id: opts.id } : {}),
        ...(opts.parameters ? { parameters: opts.parameters } : {}),
        inputs,
        ...(opts.outputs ? { outputs: opts.outputs.map((o) => (typeof o === 'string' ? { name: o } : o)) } : {}),
      },
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    const jobId = response.headers.get('x-job-id');
    return jobId ? { ...body, job_id: jobId } : body;
  }
}
