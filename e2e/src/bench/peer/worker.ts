/** The peer's worker: a BullMQ Worker running the same ONNX model one job at a time (concurrency 8). */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(process.env['MODEL_PATH']!, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
interface Body { inputs: { name: string; shape: number[]; data: number[] }[] }
const worker = new Worker<Body>(
  'peer',
  async (job) => {
    const input = job.data.inputs[0]!;
    const out = await session.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(input.data), input.shape) });
    const [name, t] = Object.entries(out)[0]!;
    return { outputs: [{ name, shape: t.dims, datatype: 'FP32', data: Array.from(t.data as Float32Array) }], metrics: { batch_size: input.shape[0] } };
  },
  { connection: new Redis(process.env['REDIS_URL']!, { maxRetriesPerRequest: null }), concurrency: 8 },
);
await worker.waitUntilReady();
console.log('peer worker ready');
