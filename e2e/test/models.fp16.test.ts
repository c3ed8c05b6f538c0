/**
 * FP16 models, as converters make them for GPUs (`half`: FP16 in, FP16 and FP32 out; `to_half`:
 * FP32 in, FP16 out), through every door: JSON (values rounded to the nearest half, one past
 * ±65504 refused), the binary extension and gRPC raw contents (bits as sent, NaN and ±Infinity
 * included), typed gRPC contents (refused for FP16; an FP16 output answered raw), `/v1/jobs`,
 * classification, and batch files as NDJSON and as `<f2` `.npy`. Every output is checked
 * against a direct onnxruntime run of the same rows; the FP16 side of the test is
 * @petamoriken/float16, not the service's code.
 */
import * as ort from 'onnxruntime-node';
import { status } from '@grpc/grpc-js';
import { encodeNpy } from '@maas/client';
import { buildBf16Model, buildHalfModel, buildToHalfModel, HALF_WIDTH } from '@maas/model-gen/test-models';
import { f16round, Float16Array } from '@petamoriken/float16';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, binaryBody, call, Cluster, eventually, InferenceClient, modelRepository, post } from '../src/harness/index.js';

let cluster: Cluster;
let repo: Awaited<ReturnType<typeof modelRepository>>;
let grpc: InferenceClient;
let half: ort.InferenceSession;
let toHalf: ort.InferenceSession;

beforeAll(async () => {
  repo = await modelRepository();
  const halfPath = await addModel(repo.dir, 'half', buildHalfModel(), { max_batch_size: 64 });
  const toHalfPath = await addModel(repo.dir, 'to_half', buildToHalfModel(), {});
  await addModel(repo.dir, 'bf16', buildBf16Model(), {});
  cluster = await Cluster.start({ models: repo.dir, workers: 1, worker: { WORKER_MODELS: 'half,to_half' } });
  grpc = new InferenceClient(cluster.grpcAddress);
  half = await ort.InferenceSession.create(halfPath, { intraOpNumThreads: 1 });
  toHalf = await ort.InferenceSession.create(toHalfPath, { intraOpNumThreads: 1 });
});
afterAll(async () => {
  grpc?.close();
  await half?.release();
  await toHalf?.release();
  await cluster?.stop();
  await repo?.remove();
});

/** FP16 bits of `values`, each rounded to the nearest half. */
const bitsOf = (values: readonly number[]) => new Uint16Array(new Float16Array(values).buffer);
const bytesOf = (bits: Uint16Array | Float32Array) => Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
const valuesOf = (bytes: Uint8Array) => [...new Float16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))];
/** As a JSON answer carries a value: a non-finite one as null. */
const asJson = (v: number) => (Number.isFinite(v) ? v : null);

/** The `half` model run here on rows of FP16 bits: each output's bytes. */
async function halfAlone(bits: Uint16Array): Promise<{ doubled: Buffer; wide: Buffer }> {
  const r = await half.run({ x: new ort.Tensor('float16', bits, [bits.length / HALF_WIDTH, HALF_WIDTH]) });
  return { doubled: bytesOf(r['doubled']!.data as Uint16Array), wide: bytesOf(r['wide']!.data as Float32Array) };
}

/** Row i of the test's inputs: small values, an overflow when doubled, a subnormal. */
const row = (i: number) => [((i * 37) % 200) / 7 - 14, i % 5 === 0 ? 40000 + i : 0.1 * i, i % 3 === 0 ? 2 ** -24 : -i];

describe('an FP16 model', () => {
  it('is listed with FP16 tensors, and its configuration says TYPE_FP16', async () => {
    const meta = await call(cluster.url, 'GET', '/v2/models/half');
    expect(meta.status).toBe(200);
    expect(meta.body.inputs).toEqual([{ name: 'x', datatype: 'FP16', shape: [-1, HALF_WIDTH] }]);
    expect(meta.body.outputs).toEqual([{ name: 'doubled', datatype: 'FP16', shape: [-1, HALF_WIDTH] }, { name: 'wide', datatype: 'FP32', shape: [-1, HALF_WIDTH] }]);
    const config = await call(cluster.url, 'GET', '/v2/models/half/config');
    expect(config.body.input[0]).toMatchObject({ name: 'x', data_type: 'TYPE_FP16', dims: [HALF_WIDTH] });
    expect(config.body.output[0]).toMatchObject({ name: 'doubled', data_type: 'TYPE_FP16' });
  });

  it('is served beside a BF16 model, which is left out with the reason in the repository index', async () => {
    const index = await call(cluster.url, 'POST', '/v2/repository/index', {});
    expect(index.body).toContainEqual(expect.objectContaining({ name: 'half', state: 'READY' }));
    const bf16 = (index.body as { name: string; state: string; reason?: string }[]).filter((m) => m.name === 'bf16');
    expect(bf16).toEqual([expect.objectContaining({ state: 'UNAVAILABLE', reason: expect.stringMatching(/x has ONNX elem_type 16, which the service does not support/) })]);
    expect((await call(cluster.url, 'GET', '/v2/models/bf16')).status).toBe(404);
  });

  it('takes JSON numbers rounded to the nearest half and answers its outputs as numbers, as onnxruntime computes them', async () => {
    const x = [0.1, 1.5, 40000, -2, 65504, 2 ** -24];
    const r = await call(cluster.url, 'POST', '/v2/models/half/infer', { inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 3], data: x }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const want = await halfAlone(bitsOf(x));
    const doubled = r.body.outputs.find((o: { name: string }) => o.name === 'doubled');
    expect(doubled).toMatchObject({ datatype: 'FP16', shape: [2, 3] });
    expect(doubled.data).toEqual(valuesOf(want.doubled).map(asJson));
    expect(doubled.data).toEqual([0.199951171875, 3, null, -4, null, 2 ** -23]); // 80000 and 131008 overflow FP16
    expect(r.body.outputs.find((o: { name: string }) => o.name === 'wide').data).toEqual(x.map(f16round));
  });

  it('refuses a JSON value that rounds past ±65504, naming it', async () => {
    const r = await call(cluster.url, 'POST', '/v2/models/half/infer', { inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], data: [1, 2, 65520] }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/data\[2\] = 65520 is out of the FP16 range \(±65504\)/);
  });

  it('carries bits as sent in the binary extension, NaN and ±Infinity included', async () => {
    const bits = Uint16Array.of(0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0001, 0x7bff, 0x3555, 0xc200, 0x0400);
    const { body, headerLength } = binaryBody({ parameters: { binary_data_output: true } }, [{ name: 'x', datatype: 'FP16', shape: [3, 3], values: valuesOf(bytesOf(bits)) }]);
    expect(body.subarray(headerLength)).toEqual(bytesOf(bits)); // the harness wrote the bits back as they were
    const r = await post(`${cluster.url}/v2/models/half/infer`, body, { 'inference-header-content-length': String(headerLength) });
    expect(r.status, r.body.toString()).toBe(200);
    const want = await halfAlone(bits);
    const json = r.json as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
    const at = Number(r.headers['inference-header-content-length']);
    const [first, second] = json.outputs;
    const parts = { [first!.name]: r.body.subarray(at, at + first!.parameters.binary_data_size), [second!.name]: r.body.subarray(at + first!.parameters.binary_data_size) };
    expect(parts['doubled']).toEqual(want.doubled);
    expect(parts['wide']).toEqual(want.wide);
  });

  it('runs rows of many concurrent requests together, each answered with its own rows', async () => {
    const inputs = Array.from({ length: 48 }, (_, i) => row(i));
    const replies = await Promise.all(inputs.map((x) => call(cluster.url, 'POST', '/v2/models/half/infer', { inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], data: x }] })));
    for (const [i, r] of replies.entries()) {
      expect(r.status).toBe(200);
      const want = await halfAlone(bitsOf(inputs[i]!));
      expect(r.body.outputs.find((o: { name: string }) => o.name === 'doubled').data, `request ${i}`).toEqual(valuesOf(want.doubled).map(asJson));
    }
    // rows of several requests went through one run (Triton's statistics, by the size of the run)
    const runs = await eventually(async () => (await call(cluster.url, 'GET', '/v2/models/half/stats')).body.model_stats[0].batch_stats as { batch_size: number }[],
      (b) => b.some((s) => s.batch_size > 1), { what: 'a run of more than one row' });
    expect(runs.length).toBeGreaterThan(0);
  });

  it('as a /v1/jobs job, and with the classification extension on its FP16 output', async () => {
    const x = [1, 3, 2, -0.5, 0.25, -7];
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 3], data: x }], outputs: [{ name: 'doubled', parameters: { classification: 2 } }] }, { prefer: 'wait=20' });
    expect(job.status, JSON.stringify(job.body)).toBe(200);
    expect(job.body.outputs).toEqual([{ name: 'doubled', datatype: 'BYTES', shape: [2, 2], data: ['6.000000:1', '4.000000:2', '0.500000:1', '-1.000000:0'] }]);
    const plain = await call(cluster.url, 'POST', '/v1/jobs', { model: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 3], data: x }] }, { prefer: 'wait=20' });
    expect(plain.body.outputs.find((o: { name: string }) => o.name === 'doubled').data).toEqual(x.map((v) => v * 2));
  });
});

describe('FP16 over gRPC', () => {
  it('travels as raw contents, bit for bit', async () => {
    const bits = bitsOf([0.1, 1.5, 40000, -2, 65504, 2 ** -24]);
    const res = await grpc.call('ModelInfer', { model_name: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 3] }], raw_input_contents: [bytesOf(bits)] });
    const want = await halfAlone(bits);
    const i = res.outputs.findIndex((o: { name: string }) => o.name === 'doubled');
    expect(res.outputs[i]).toMatchObject({ datatype: 'FP16', shape: ['2', '3'] });
    expect(Buffer.from(res.raw_output_contents[i])).toEqual(want.doubled);
  });

  it('refuses typed contents for an FP16 input (there is no field for it), and answers an FP16 output raw to a typed request', async () => {
    const typed = await grpc.call('ModelInfer', { model_name: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] })
      .then(() => undefined, (e: { code: number; details: string }) => e);
    expect(typed?.code).toBe(status.INVALID_ARGUMENT);
    expect(typed?.details).toMatch(/FP16 has no field in InferTensorContents: send it in raw_input_contents/);
    const f = [0.1, 1e6, -3, 1, 2, 3];
    const res = await grpc.call('ModelInfer', { model_name: 'to_half', inputs: [{ name: 'f', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: f } }] });
    const alone = await toHalf.run({ f: new ort.Tensor('float32', Float32Array.from(f), [2, 3]) });
    expect(res.outputs[0]).toMatchObject({ name: 'h', datatype: 'FP16' });
    expect(res.outputs[0].contents).toBeNull();
    expect(Buffer.from(res.raw_output_contents[0])).toEqual(bytesOf(alone['h']!.data as Uint16Array));
  });
});

describe('FP16 batch files', () => {
  const LINES = 600;
  const waitFor = (id: string) => eventually(async () => (await call(cluster.url, 'GET', `/v1/batches/${id}?wait=5`)).body, (b) => b.completed_at !== null, { ms: 60_000, what: `batch ${id}` });

  it('NDJSON: each line rounded and run as onnxruntime runs it, in order; a value past the range fails its line alone', async () => {
    const text = Array.from({ length: LINES }, (_, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { x: i === 7 ? [1, 2, 1e5] : row(i) } })).join('\n');
    const res = await fetch(`${cluster.url}/v1/batches?model=half`, { method: 'POST', body: text, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await waitFor(id)).counts).toEqual({ total: LINES, succeeded: LINES - 1, failed: 1 });
    const lines = (await (await fetch(`${cluster.url}/v1/batches/${id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: LINES }, (_, i) => `r${i}`));
    expect(lines[7].error.message).toMatch(/out of the FP16 range/);
    // ?failed=true: the failed lines alone (here one), in input order
    const failed = await fetch(`${cluster.url}/v1/batches/${id}/results?failed=true`);
    expect(failed.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect((await failed.text()).trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([lines[7]]);
    const npyOnly = await fetch(`${cluster.url}/v1/batches/${id}/results?failed=true`, { headers: { accept: 'application/x-npy' } });
    expect(npyOnly.status).toBe(406);
    const all = bitsOf(Array.from({ length: LINES }, (_, i) => (i === 7 ? [0, 0, 0] : row(i))).flat());
    const want = await halfAlone(all);
    const doubled = valuesOf(want.doubled).map(asJson);
    for (let i = 0; i < LINES; i++) {
      if (i === 7) continue;
      expect(lines[i].outputs.doubled, `line ${i}`).toEqual(doubled.slice(i * HALF_WIDTH, (i + 1) * HALF_WIDTH));
    }
  });

  it('.npy of <f2 in, and <f2 out: the bits onnxruntime computes', async () => {
    const bits = bitsOf(Array.from({ length: LINES }, (_, i) => row(i)).flat());
    const res = await fetch(`${cluster.url}/v1/batches?model=half`, { method: 'POST', body: encodeNpy(bits, [LINES, HALF_WIDTH], '<f2'), headers: { 'content-type': 'application/x-npy' } });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await waitFor(id)).counts).toEqual({ total: LINES, succeeded: LINES, failed: 0 });
    const out = Buffer.from(await (await fetch(`${cluster.url}/v1/batches/${id}/results?output=doubled`, { headers: { accept: 'application/x-npy' } })).arrayBuffer());
    const headerLength = 10 + out.readUInt16LE(8);
    expect(out.subarray(10, headerLength).toString('latin1')).toMatch(new RegExp(`'descr': '<f2', 'fortran_order': False, 'shape': \\(${LINES}, ${HALF_WIDTH}\\)`));
    expect(out.subarray(headerLength)).toEqual((await halfAlone(bits)).doubled);
    // none failed: ?failed=true is empty
    const failed = await fetch(`${cluster.url}/v1/batches/${id}/results?failed=true`);
    expect([failed.status, await failed.text()]).toEqual([200, '']);
  });
});
