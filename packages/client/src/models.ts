/** What the cluster serves: `/v1/models` (with live worker counts) and KServe v2 metadata. */
import { withArray, type CallOptions, type Transport } from './transport.js';
import type { ModelInfo, ModelMetadata } from './types.js';

export class Models {
  constructor(private readonly http: Transport) {}

  /** Every model in the repository, its signature, and how many live workers serve it. */
  async list(opts: CallOptions = {}): Promise<ModelInfo[]> {
    const { body } = await this.http.json<{ models: ModelInfo[] }>({ method: 'GET', path: '/v1/models', expect: withArray('a model list', 'models'), ...opts });
    return body.models;
  }

  /** KServe v2 metadata of a model (its newest version) or of one version. */
  async get(name: string, opts: CallOptions & { version?: number | string | undefined } = {}): Promise<ModelMetadata> {
    const { body } = await this.http.json<ModelMetadata>({ method: 'GET', path: modelPath(name, opts.version), expect: withArray('model metadata', 'inputs'), signal: opts.signal, timeoutMs: opts.timeoutMs });
    return body;
  }

  /** True when at least one live worker serves the model (version); the API answers 503 otherwise. */
  async ready(name: string, opts: CallOptions & { version?: number | string | undefined } = {}): Promise<boolean> {
    const { response } = await this.http.json<unknown>({
      method: 'GET',
      path: `${modelPath(name, opts.version)}/ready`,
      acceptStatuses: [503],
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    return response.ok;
  }
}

/** `/v2/models/{m}[/versions/{v}]` */
export function modelPath(name: string, version?: number | string): string {
  return `/v2/models/${encodeURIComponent(name)}${version !== undefined ? `/versions/${encodeURIComponent(String(version))}` : ''}`;
}
