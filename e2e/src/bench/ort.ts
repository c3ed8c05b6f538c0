/** The ceiling: rows/s of the benchmark MLP run by onnxruntime in this process, by rows per run. */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { rows } from '../harness/http.js';
import { SHIPPED_MODELS } from '../harness/model-repo.js';

export const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');

export async function rawRowsPerSecond(batchSizes: readonly number[], msEach: number, model = MLP): Promise<Map<number, number>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const result = new Map<number, number>();
  try {
    for (const batch of batchSizes) {
      const feed = { input: new ort.Tensor('float32', Float32Array.from(rows(batch, batch, 32).flat()), [batch, 32]) };
      for (let i = 0; i < 20; i++) await session.run(feed);
      let runs = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < msEach) {
        await session.run(feed);
        runs++;
      }
      result.set(batch, (runs * batch) / ((performance.now() - t0) / 1000));
    }
  } finally {
    await session.release();
  }
  return result;
}
