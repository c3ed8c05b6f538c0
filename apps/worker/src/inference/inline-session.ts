/**
 * InlineSession: a CPU session of the model on the worker's main thread, for runs so short
 * (tens of microseconds for a small model) that handing them to a session thread and back
 * costs more than the run. The pool sends a run here only when RunCost predicts it under
 * a small bound (WORKER_INLINE_MAX_MS), so the main thread's Redis traffic and lock renewals
 * never wait on it for long; everything else goes to the session threads.
 */
import * as ort from 'onnxruntime-node';
import { DATATYPE_INFO, datatypeFromOrt, typedView, type RawTensor, type WarmupRun } from '@maas/shared';
import { rejectedByRows, RunRejectedError } from './run-rejected.js';
import type { RunResult } from './session-pool.js';
import { warmUp, type WarmupOutcome } from './warm-up.js';

function toOrt(t: RawTensor): ort.Tensor {
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data, t.shape);
  return new ort.Tensor(DATATYPE_INFO[t.datatype].ort as 'float32', typedView(t) as Float32Array, t.shape);
}

function fromOrt(name: string, t: ort.Tensor): RawTensor {
  const datatype = datatypeFromOrt(t.type);
  if (!datatype) throw new Error(`output ${name} has type ${t.type}, which the service does not carry`);
  const shape = t.dims.map(Number);
  if (datatype === 'BYTES') return { name, datatype, shape, data: t.data as string[] };
  const view = t.data as Float32Array;
  // Copy out: the tensor's buffer may belong to ORT or be shared with other outputs.
  return { name, datatype, shape, data: new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength)) };
}

export class InlineSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly warmup: WarmupOutcome,
  ) {}

  /** `warmup`: runs of zeros made before it is used (the worker gives it a run of one row: it runs only short ones). */
  static async open(path: string, warmup: readonly WarmupRun[] = []): Promise<InlineSession> {
    ort.env.logLevel = 'fatal';
    // One intra-op thread: a run this short gains nothing from more, and must not wake them.
    const session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
    });
    return new InlineSession(session, await warmUp(session, warmup));
  }

  async run(feeds: RawTensor[]): Promise<RunResult> {
    const input: Record<string, ort.Tensor> = {};
    for (const f of feeds) input[f.name] = toOrt(f);
    const t0 = performance.now();
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(input);
    } catch (err) {
      // Only session.run's own failure may be the rows' (run-rejected.ts).
      const message = (err as Error).message;
      throw rejectedByRows(message) ? new RunRejectedError(message) : err;
    }
    const ms = performance.now() - t0;
    return { outputs: this.session.outputNames.map((n) => fromOrt(n, result[n]!)), ms };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
