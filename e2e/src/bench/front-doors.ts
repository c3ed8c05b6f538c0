/**
 * `npm run bench:frontdoors`: the same large request (one 224×224×3 image, 150,528 FP32
 * values) through each front door in one run: KServe v2 JSON, the binary tensor extension
 * over REST, and gRPC with raw contents. One API, one worker, the `image` model (a mean over
 * the pixels: little compute, so the figures are the front doors' own cost). Then the same for
 * large outputs: 1,024 rows of `wide_out` (16 KB in, 768 FP32 outputs a row: 3 MB out).
 *
 * Per door: latency of requests one at a time (p50, p99) and the latency it adds over running
 * the image through ONNX Runtime directly in this process; then throughput with concurrent
 * clients. Client-side encoding (JSON.stringify, byte packing, protobuf) is inside the timings,
 * as a real client pays it. Every door's answer is checked against the direct run first.
 */
import { Agent, request } from 'node:http';
import { buildImageModel, buildWideOutputModel, IMAGE_ELEMENTS, WIDE_OUT_INPUTS } from '@maas/model-gen/test-models';
import * as ort from 'onnxruntime-node';
import { Cluster } from '../harness/cluster.js';
import { InferenceClient } from '../harness/grpc-client.js';
import { addModel, modelRepository } from '../harness/model-repo.js';
import { percentile } from './load.js';

const SEQUENTIAL = Number(process.env['BENCH_FD_SEQUENTIAL'] ?? 60);
const REQUESTS = Number(process.env['BENCH_FD_REQUESTS'] ?? 300);
const CONCURRENCY = Number(process.env['BENCH_FD_CONCURRENCY'] ?? 8);
const IMAGES = 8;
/**
 * Profiling aids: BENCH_FD_ONLY measures the doors whose name contains it; BENCH_FD_CPU_PROF
 * runs the API and worker with `--cpu-prof` into that directory; BENCH_FD_NODE_ARGS adds node
 * flags to both (e.g. `--trace-gc`, printed with MAAS_TEST_VERBOSE=1); BENCH_FD_ROOT runs the
 * API and worker of another checkout's build (an A/B against an earlier commit).
 */
const ONLY = process.env['BENCH_FD_ONLY'];
const PROF = process.env['BENCH_FD_CPU_PROF'];
const ROOT = process.env['BENCH_FD_ROOT'];
/** Large outputs: rows a request, outputs a row. */
const WIDE_ROWS = 1024;
const WIDE_WIDTH = 768;

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

/** One request's inputs → its outputs (all of them: fidelity is checked on every value). */
type Door = (input: Float32Array) => Promise<Float32Array>;

/** What goes through the doors: a model, its one input's shape, its one output. */
interface Case {
  title: string;
  model: string;
  input: string;
  shape: number[];
  output: string;
  /** bytes a request carries, in and out (for MB/s) */
  bytesIn: number;
  bytesOut: number;
}

const asFloats = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

function doors(cluster: Cluster, grpc: InferenceClient, c: Case): Record<string, Door> {
  const url = `${cluster.url}/v2/models/${c.model}/infer`;
  return {
    'REST JSON': async (x) => {
      const body = JSON.stringify({ inputs: [{ name: c.input, datatype: 'FP32', shape: c.shape, data: Array.from(x) }] });
      const res = JSON.parse((await postRaw(url, body, { 'content-type': 'application/json' })).toString()) as { outputs: { data: number[] }[] };
      return Float32Array.from(res.outputs[0]!.data);
    },
    'REST binary': async (x) => {
      const bytes = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      const header = Buffer.from(JSON.stringify({
        inputs: [{ name: c.input, datatype: 'FP32', shape: c.shape, parameters: { binary_data_size: bytes.length } }],
        outputs: [{ name: c.output, parameters: { binary_data: true } }],
      }));
      const res = await postRaw(url, Buffer.concat([header, bytes]), { 'inference-header-content-length': String(header.length) });
      return asFloats(res.subarray(res.length - c.bytesOut)); // the one binary output: the last bytes
    },
    gRPC: async (x) => {
      const res = await grpc.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
        model_name: c.model,
        inputs: [{ name: c.input, datatype: 'FP32', shape: c.shape }],
        raw_input_contents: [Buffer.from(x.buffer, x.byteOffset, x.byteLength)],
      });
      return asFloats(res.raw_output_contents[0]!);
    },
  };
}

async function measure(door: Door, inputs: Float32Array[], c: Case, requests: number, sequential: number) {
  for (let i = 0; i < 10; i++) await door(inputs[i % inputs.length]!); // warm-up
  const latencies: number[] = [];
  for (let i = 0; i < sequential; i++) {
    const t0 = performance.now();
    await door(inputs[i % inputs.length]!);
    latencies.push(performance.now() - t0);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests) await door(inputs[next++ % inputs.length]!);
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: requests / seconds, mbps: (requests * (c.bytesIn + c.bytesOut)) / 1e6 / seconds };
}

/** Every door's outputs equal the direct run's (every value), then each door measured; prints the table. */
async function run(cluster: Cluster, grpc: InferenceClient, c: Case, modelBytes: Uint8Array, inputs: Float32Array[], requests: number, sequential: number) {
  const session = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads: 1 });
  const expected: Float32Array[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const r = await session.run({ [c.input]: new ort.Tensor('float32', inputs[i % inputs.length]!, c.shape) });
    direct.push(performance.now() - t0);
    if (i < inputs.length) expected.push(r[c.output]!.data as Float32Array);
  }
  await session.release();
  const ortMs = percentile(direct.slice(inputs.length), 50);
  const all = Object.fromEntries(Object.entries(doors(cluster, grpc, c)).filter(([name]) => !ONLY || name.includes(ONLY)));
  for (const [name, door] of Object.entries(all)) {
    for (let i = 0; i < inputs.length; i++) {
      const got = await door(inputs[i]!);
      const want = expected[i]!;
      const bad = got.length === want.length ? got.findIndex((v, j) => !Object.is(v, want[j])) : 0;
      if (bad >= 0) throw new Error(`${c.title}, ${name}: request ${i}, value ${bad}: ${got[bad]}, ONNX Runtime ${want[bad]}`);
    }
  }
  console.log(`\n${c.title}; outputs equal a direct ONNX Runtime run for every door, value for value`);
  console.log(`direct ONNX Runtime run (in process): p50 ${ortMs.toFixed(2)} ms; ${sequential} sequential requests, then ${requests} with ${CONCURRENCY} concurrent clients\n`);
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const [name, door] of Object.entries(all)) results[name] = await measure(door, inputs, c, requests, sequential);
  const json = results['REST JSON'] ?? Object.values(results)[0]!;
  console.log('| front door | p50 ms | p99 ms | added p50 ms (vs direct ORT) | req/s | MB/s in + out | vs JSON |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    console.log(`| ${name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(r.p50 - ortMs).toFixed(1)} | ${r.rps.toFixed(0)} | ${r.mbps.toFixed(0)} | ${(r.rps / json.rps).toFixed(1)}× req/s, ${(json.p50 / r.p50).toFixed(1)}× faster p50 |`);
  }
}

async function main() {
  const imageModel = buildImageModel();
  const wideModel = buildWideOutputModel(WIDE_WIDTH);
  const repo = await modelRepository();
  await addModel(repo.dir, 'image', imageModel, { max_batch_size: 16, max_queue_delay_ms: 1 });
  await addModel(repo.dir, 'wide', wideModel, { max_batch_size: WIDE_ROWS, max_queue_delay_ms: 1 });
  const prof = [...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []), ...(process.env['BENCH_FD_NODE_ARGS']?.split(' ').filter(Boolean) ?? [])];
  const cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'image,wide' }, nodeArgs: { api: prof, worker: prof }, ...(ROOT ? { root: ROOT } : {}) });
  const grpc = new InferenceClient(cluster.grpcAddress);
  try {
    const images = Array.from({ length: IMAGES }, (_, i) => image(i + 1));
    await run(cluster, grpc, {
      title: `Large inputs: ${IMAGE_ELEMENTS} FP32 values (${(IMAGE_ELEMENTS * 4 / 1e6).toFixed(2)} MB) a request, one output value`,
      model: 'image', input: 'pixels', shape: [1, IMAGE_ELEMENTS], output: 'mean', bytesIn: IMAGE_ELEMENTS * 4, bytesOut: 4,
    }, imageModel, images, REQUESTS, SEQUENTIAL);
    const rows = Array.from({ length: 4 }, (_, i) => image(100 + i).subarray(0, WIDE_ROWS * WIDE_OUT_INPUTS).map((v) => v - 0.5));
    await run(cluster, grpc, {
      title: `Large outputs: ${WIDE_ROWS} rows of ${WIDE_OUT_INPUTS} FP32 in (${(WIDE_ROWS * WIDE_OUT_INPUTS * 4 / 1e3).toFixed(0)} KB), ${WIDE_WIDTH} FP32 out a row (${(WIDE_ROWS * WIDE_WIDTH * 4 / 1e6).toFixed(2)} MB) a request`,
      model: 'wide', input: 'x', shape: [WIDE_ROWS, WIDE_OUT_INPUTS], output: 'y', bytesIn: WIDE_ROWS * WIDE_OUT_INPUTS * 4, bytesOut: WIDE_ROWS * WIDE_WIDTH * 4,
    }, wideModel, rows, Math.ceil(REQUESTS / 5), Math.ceil(SEQUENTIAL / 2));
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
