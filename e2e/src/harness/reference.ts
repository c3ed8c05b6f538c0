/** Runs rows through an ONNX model in this process, one row per run: the reference outputs. */
import * as ort from 'onnxruntime-node';

export async function runAlone(modelPath: string, inputName: string, outputName: string, rows: number[][]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  try {
    const out: number[][] = [];
    for (const row of rows) {
      const r = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(row), [1, row.length]) });
      out.push(Array.from(r[outputName]!.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}
