/**
 * `npm run bench:frontdoors`: the same large request (one 224×224×3 image, 150,528 FP32
 * values) through each front door in one run: KServe v2 JSON, the binary tensor extension
 * over REST, and gRPC with raw contents. One API, one worker, the `image` model (a mean over
 * the pixels: little compute, so the figures are the front doors' own cost).
 *
 * Per door: latency of requests one at a time (p50, p99) and the latency it adds over running
 * the image through ONNX Runtime directly in this process; then throughput with concurrent
 * clients. Client-side encoding (JSON.stringify, byte packing, protobuf) is inside the timings,
 * as a real client pays it. Every door's answer is checked against the direct run first.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { buildImageModel, IMAGE_ELEMENTS } from '@maas/model-gen/test-models';
import * as ort from 'onnxruntime-node';
import { Cluster } from '../harness/cluster.js';
import { InferenceClient } from '../harness/grpc-client.js';
import { modelRepository } from '../harness/model-repo.js';
import { percentile } from './load.js';

const SEQUENTIAL = Number(process.env['BENCH_FD_SEQUENTIAL'] ?? 60);
const REQUESTS = Number(process.env['BENCH_FD_REQUESTS'] ?? 300);
const CONCURRENCY = Number(process.env['BENCH_FD_CONCURRENCY'] ?? 8);
const IMAGES = 8;
/**
 * Profiling aids: BENCH_FD_ONLY measures the doors whose name contains it; BENCH_FD_CPU_PROF
 * runs the API and worker with `--cpu-prof` into that directory; BENCH_FD_NODE_ARGS adds node
 * flags to both (e.g. `--trace-gc`, printed with MAAS_TEST_VERBOSE=1).
 */
const ONLY = process.env['BENCH_FD_ONLY'];
const PROF = process.env['BENCH_FD_CPU_PROF'];

/** Deterministic pixels in [0, 1). */
function image(seed: number): Float32Array {
  const a = new Float32Array(IMAGE_ELEMENTS);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
  return a;
}

function postRaw(url: string, body: Buffer | string, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: AGENT, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const AGENT = new Agent({ keepAlive: true, maxSockets: 64 });

type Door = (pixels: Float32Array) => Promise<number>;

function doors(cluster: Cluster, grpc: InferenceClient): Record<string, Door> {
  const url = `${cluster.url}/v2/models/image/infer`;
  return {
    'REST JSON': async (pixels) => {
      const body = JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_ELEMENTS], data: Array.from(pixels) }] });
      const res = JSON.parse((await postRaw(url, body, { 'content-type': 'application/json' })).toString()) as { outputs: { data: number[] }[] };
      return res.outputs[0]!.data[0]!;
    },
    'REST binary': async (pixels) => {
      const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
      const header = Buffer.from(JSON.stringify({
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_ELEMENTS], parameters: { binary_data_size: bytes.length } }],
        outputs: [{ name: 'mean', parameters: { binary_data: true } }],
      }));
      const res = await postRaw(url, Buffer.concat([header, bytes]), { 'inference-header-content-length': String(header.length) });
      return res.readFloatLE(res.length - 4); // the one binary output: the last 4 bytes
    },
    gRPC: async (pixels) => {
      const res = await grpc.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
        model_name: 'image',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, IMAGE_ELEMENTS] }],
        raw_input_contents: [Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)],
      });
      return Buffer.from(res.raw_output_contents[0]!).readFloatLE(0);
    },
  };
}

async function measure(door: Door, images: Float32Array[]) {
  for (let i = 0; i < 10; i++) await door(images[i % IMAGES]!); // warm-up
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    await door(images[i % IMAGES]!);
    latencies.push(performance.now() - t0);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) await door(images[next++ % IMAGES]!);
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: REQUESTS / seconds, mbps: (REQUESTS * IMAGE_ELEMENTS * 4) / 1e6 / seconds };
}

async function main() {
  const model = buildImageModel();
  const repo = await modelRepository();
  await mkdir(join(repo.dir, 'image/1'), { recursive: true });
  await writeFile(join(repo.dir, 'image/1/model.onnx'), model);
  await writeFile(join(repo.dir, 'image/config.json'), JSON.stringify({ max_batch_size: 16, max_queue_delay_ms: 1 }));
  const prof = [...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []), ...(process.env['BENCH_FD_NODE_ARGS']?.split(' ').filter(Boolean) ?? [])];
  const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'image' }, nodeArgs: { api: prof, worker: prof } });
  const grpc = new InferenceClient(cluster.grpcAddress);
  try {
    const images = Array.from({ length: IMAGES }, (_, i) => image(i + 1));
    // The reference: ONNX Runtime in this process, one image a run.
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    const expected: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const r = await session.run({ pixels: new ort.Tensor('float32', images[i % IMAGES]!, [1, IMAGE_ELEMENTS]) });
      direct.push(performance.now() - t0);
      if (i < IMAGES) expected.push((r['mean']!.data as Float32Array)[0]!);
    }
    await session.release();
    const ortMs = percentile(direct.slice(IMAGES), 50);
    const all = Object.fromEntries(Object.entries(doors(cluster, grpc)).filter(([name]) => !ONLY || name.includes(ONLY)));
    for (const [name, door] of Object.entries(all)) {
      for (let i = 0; i < IMAGES; i++) {
        const got = await door(images[i]!);
        if (got !== expected[i]) throw new Error(`${name}: image ${i} gave ${got}, ONNX Runtime ${expected[i]}`);
      }
    }
    console.log(`${IMAGE_ELEMENTS} FP32 values (${(IMAGE_ELEMENTS * 4 / 1e6).toFixed(2)} MB raw) a request; outputs equal a direct ONNX Runtime run for every door`);
    console.log(`direct ONNX Runtime run (in process): p50 ${ortMs.toFixed(2)} ms; ${SEQUENTIAL} sequential requests, then ${REQUESTS} with ${CONCURRENCY} concurrent clients\n`);
    const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    for (const [name, door] of Object.entries(all)) results[name] = await measure(door, images);
    const json = results['REST JSON'] ?? Object.values(results)[0]!;
    console.log('| front door | p50 ms | p99 ms | added p50 ms (vs direct ORT) | req/s | MB/s in | vs JSON |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) {
      console.log(`| ${name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(r.p50 - ortMs).toFixed(1)} | ${r.rps.toFixed(0)} | ${r.mbps.toFixed(0)} | ${(r.rps / json.rps).toFixed(1)}× req/s, ${(json.p50 / r.p50).toFixed(1)}× faster p50 |`);
    }
  } finally {
    grpc.close();
    AGENT.destroy();
    await cluster.stop(PROF ? 'SIGTERM' : 'SIGKILL');
    await repo.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
