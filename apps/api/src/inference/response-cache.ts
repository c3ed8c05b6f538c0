/**
 * The response cache (Triton's `response_cache`): for a model whose config.json says
 * `"response_cache": true`, the outputs of a v2 infer request (REST, binary, gRPC) are kept in
 * this API process, and a request of the same tenant, model version and inputs is answered from
 * them without being queued (no Redis, no worker). As Triton's local cache: in memory, a
 * least-recently-used set bounded by RESPONSE_CACHE_MB, one per API process.
 *
 * A request's key is a SHA-256 of: the tenant (no tenant learns another's inputs from an
 * answer's speed), the model, the version, the digests of the model's config and labels and of
 * the version's file (`modelDigests`: a different file under the same version number, or new
 * labels, key afresh; the same files on another machine key alike), the outputs asked for and
 * their classification, and each input's name, datatype, shape and bytes (BYTES: each string,
 * length first). What does not change outputs stays out: the request id, `binary_data`,
 * priority and timeout. An answer is kept only when the worker's runner had opened those very
 * digests (InferenceJobResult.ran): the API and the workers notice a changed file each at its
 * own poll, and a worker still running the old file
 * must not fill the new key. Entries live at most JOB_RETENTION_S, so the job a hit names
 * (`X-Job-Id`, the job that computed the outputs) can still be read. Only successes are kept,
 * each output's bytes copied out of the job's (a packed job's rows are a view of all its rows).
 */
import { createHash, type Hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { outputTensor, rawOf, type OutputTensor, type RawTensor, type RequestedOutput } from '@maas/shared';

export interface CachedAnswer {
  /** the job that computed the outputs */
  jobId: string;
  model_version: string;
  /** bytes where the job's outputs had them, else the outputs as they were */
  outputs: (RawTensor | OutputTensor)[];
}

/**
 * Bytes an entry is charged: its outputs' bytes (strings at two bytes a character) and what the
 * rest takes in V8's heap: the key, the map's node, the objects, a typed array's header (a
 * 1-row answer of 8 output bytes took about 750 bytes, measured).
 */
export function answerBytes(a: CachedAnswer): number {
  let n = 512;
  for (const t of a.outputs) {
    n += 192 + t.name.length * 2;
    const data = t.data as Uint8Array | readonly unknown[];
    if (data instanceof Uint8Array) n += data.byteLength;
    else for (const v of data) n += typeof v === 'string' ? 16 + v.length * 2 : 8;
  }
  return n;
}

function hashText(h: Hash, text: string): void {
  const b = Buffer.from(text, 'utf8');
  h.update(`${b.length}:`);
  h.update(b);
}

/** The key of a request (see above): hex SHA-256. `served`: `modelDigests` of the model and version. */
export function cacheKey(tenant: string, version: { model: string; version: number }, served: string, inputs: readonly RawTensor[], outputs: readonly RequestedOutput[]): string {
  const h = createHash('sha256');
  for (const part of [tenant, version.model, String(version.version), served]) hashText(h, part);
  // Which outputs and how they are read: their order in the answer follows the request's.
  hashText(h, JSON.stringify(outputs.map((o) => [o.name, o.parameters?.classification ?? null])));
  h.update(`${inputs.length}|`);
  for (const t of inputs) {
    hashText(h, t.name);
    hashText(h, t.datatype);
    hashText(h, t.shape.join(','));
    if (t.data instanceof Uint8Array) {
      h.update(`${t.data.byteLength}:`);
      h.update(t.data);
    } else {
      h.update(`${t.data.length}|`);
      for (const s of t.data) hashText(h, s);
    }
  }
  return h.digest('hex');
}

export class ResponseCache {
  private readonly entries: LRUCache<string, CachedAnswer>;

  constructor(maxBytes: number, ttlMs: number) {
    this.entries = new LRUCache<string, CachedAnswer>({
      maxSize: maxBytes,
      // One answer may take at most a sixteenth of the cache, so a few large ones cannot flush it.
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 16)),
      sizeCalculation: answerBytes,
      ttl: ttlMs,
      updateAgeOnGet: false,
    });
  }

  /** The outputs of a hit, as fresh tensors over the kept bytes. */
  get(key: string): { jobId: string; model_version: string; outputs: OutputTensor[] } | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    return { jobId: hit.jobId, model_version: hit.model_version, outputs: hit.outputs.map((t) => (t.data instanceof Uint8Array ? outputTensor(t as RawTensor) : (t as OutputTensor))) };
  }

  /** Keeps a success's outputs; false when the answer is larger than an entry may be. */
  set(key: string, answer: { jobId: string; model_version: string; outputs: readonly OutputTensor[] }): boolean {
    const outputs = answer.outputs.map((t) => {
      const raw = rawOf(t);
      if (!raw || !(raw.data instanceof Uint8Array)) return t;
      return { name: raw.name, datatype: raw.datatype, shape: [...raw.shape], data: raw.data.slice() };
    });
    const entry: CachedAnswer = { jobId: answer.jobId, model_version: answer.model_version, outputs };
    if (answerBytes(entry) > this.entries.maxEntrySize) return false;
    this.entries.set(key, entry);
    return true;
  }

  /** Bytes the entries are charged now. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  get size(): number {
    return this.entries.size;
  }
}
