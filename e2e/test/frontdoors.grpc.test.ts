/**
 * The KServe v2 gRPC service with a client generated from the .proto (grpc-js + proto-loader):
 * health, metadata, inference with raw and typed contents for every datatype, fixed-batch and
 * multi-version models, classification, errors as status codes, and the Triton extensions.
 * Outputs are checked against a direct ONNX Runtime run and against the values sent.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client as GrpcClient, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { buildEchoModel } from '@maas/model-gen/test-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_ENTRY, call, Cluster, eventually, fromBytes, HealthClient, InferenceClient, modelRepository, rows, runAlone, startAndExit, toBytes, type Datatype, type Value,
} from '../src/harness/index.js';

const KEY = 'key-a';
const ADMIN_KEY = 'admin-key-0123456789';
let cluster: Cluster;
let client: InferenceClient;
let repo: { dir: string; remove(): Promise<void> };

const ECHO: Record<Datatype, Value[]> = {
  BOOL: [true, false, true, false, false, true],
  UINT8: [0, 255, 7, 1, 2, 3],
  UINT16: [0, 65535, 300, 1, 2, 3],
  UINT32: [0, 4294967295, 70000, 1, 2, 3],
  UINT64: [0n, 18446744073709551615n, 5n, 9007199254740993n, 2n, 3n],
  INT8: [-128, 127, 0, -1, 2, 3],
  INT16: [-32768, 32767, 0, -1, 2, 3],
  INT32: [-2147483648, 2147483647, 0, -1, 2, 3],
  INT64: [-9223372036854775808n, 9223372036854775807n, 0n, -1n, -9007199254740993n, 3n],
  FP16: [NaN, Infinity, -Infinity, -0, 2 ** -24, 65504],
  FP32: [NaN, Infinity, -Infinity, -0, 1.5, 3.4028234663852886e38],
  FP64: [NaN, Infinity, -Infinity, 5e-324, Math.PI, -1e300],
  BYTES: ['', 'ascii', 'ünïcödé', 'tab\tcomma,', 'x'.repeat(300), '🙂'],
};
const DATATYPES = Object.keys(ECHO) as Datatype[];
/** FP16 has no field in InferTensorContents (Triton carries it raw only). */
const TYPED = DATATYPES.filter((d): d is Exclude<Datatype, 'FP16'> => d !== 'FP16');
const FIELD: Record<Exclude<Datatype, 'FP16'>, string> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

beforeAll(async () => {
  repo = await modelRepository();
  await mkdir(join(repo.dir, 'echo/1'), { recursive: true });
  await writeFile(join(repo.dir, 'echo/1/model.onnx'), buildEchoModel());
  await mkdir(join(repo.dir, 'echo_typed/1'), { recursive: true });
  await writeFile(join(repo.dir, 'echo_typed/1/model.onnx'), buildEchoModel(TYPED));
  cluster = await Cluster.start({ models: repo.dir, api: { API_KEYS: `a:${KEY},b:key-b`, ADMIN_KEY } });
  client = new InferenceClient(cluster.grpcAddress, KEY);
});
afterAll(async () => {
  client?.close();
  await cluster?.stop();
  await repo?.remove();
});

const codeOf = (p: Promise<unknown>) => p.then(() => status.OK, (e: ServiceError) => e.code);
const penguinsRows = rows(5, 4, 4);
const rawFeatures = (data: number[][], version = '') => ({
  model_name: 'penguins',
  model_version: version,
  inputs: [{ name: 'features', datatype: 'FP32', shape: [data.length, 4] }],
  raw_input_contents: [toBytes('FP32', data.flat())],
});
const rawOutput = (res: any, name: string): Value[] => {
  const i = res.outputs.findIndex((o: { name: string }) => o.name === name);
  return fromBytes(res.outputs[i].datatype, res.raw_output_contents[i]);
};

describe('gRPC: health and metadata', () => {
  it('serves the standard health service (grpc.health.v1) without a key: SERVING while ready, NOT_SERVING while Redis does not answer (Watch hears both), NOT_FOUND for a service it does not know', async () => {
    const health = new HealthClient(cluster.grpcAddress);
    try {
      expect(await health.check('')).toBe('SERVING');
      expect(await health.check('inference.GRPCInferenceService')).toBe('SERVING');
      expect(await health.check('nope').catch((e: ServiceError) => e.code)).toBe(status.NOT_FOUND);
      const watch = health.watch('');
      await eventually(async () => watch.statuses, (s) => s.length === 1, { ms: 5000, what: 'the first status of a Watch' });
      cluster.redis.process.kill('SIGSTOP');
      try {
        await eventually(() => health.check(''), (s) => s === 'NOT_SERVING', { ms: 10_000, what: 'NOT_SERVING while Redis is stopped' });
      } finally {
        cluster.redis.process.kill('SIGCONT');
      }
      await eventually(() => health.check(''), (s) => s === 'SERVING', { ms: 10_000, what: 'SERVING once Redis answers again' });
      await eventually(async () => watch.statuses, (s) => s.length >= 3, { ms: 5000, what: 'the Watch to hear both changes' });
      expect(watch.statuses.slice(0, 3)).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
      watch.close();
    } finally {
      health.close();
    }
  });

  it('answers ServerLive and ServerReady without a key, the rest with one', async () => {
    expect(await client.call('ServerLive', {}, '')).toEqual({ live: true });
    expect(await client.call('ServerReady', {}, '')).toEqual({ ready: true });
    const meta = await client.call('ServerMetadata', {});
    expect(meta.extensions).toEqual(['classification', 'binary_tensor_data', 'model_configuration', 'statistics', 'model_repository']);
    expect(await codeOf(client.call('ServerMetadata', {}, ''))).toBe(status.UNAUTHENTICATED);
    expect(await codeOf(client.call('ServerMetadata', {}, 'wrong'))).toBe(status.UNAUTHENTICATED);
    // The key as Basic auth's password (tritonclient's BasicAuth plugin), as on REST.
    const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
    expect((await client.call('ServerMetadata', {}, basic(`anyone:${KEY}`))).extensions).toContain('classification');
    expect(await codeOf(client.call('ServerMetadata', {}, basic('anyone:wrong')))).toBe(status.UNAUTHENTICATED);
    // Each call in /metrics by method and status, refusals before a handler ran included (gRPC
    // was in no series: an operator saw its traffic nowhere).
    const text = (await call(cluster.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${ADMIN_KEY}` })).body as string;
    const count = (method: string, code: string) => Number(new RegExp(`^maas_grpc_request_seconds_count\\{method="${method}",code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('ServerMetadata', 'OK')).toBeGreaterThanOrEqual(2);
    expect(count('ServerMetadata', 'UNAUTHENTICATED')).toBeGreaterThanOrEqual(3);
    expect(count('ServerLive', 'OK')).toBeGreaterThanOrEqual(1);
  });

  it('ModelMetadata and ModelReady per model and version', async () => {
    const m = await client.call('ModelMetadata', { name: 'penguins', version: '' });
    expect(m).toMatchObject({ name: 'penguins', versions: ['2', '1'], platform: 'onnxruntime_onnx' });
    expect(m.inputs[0]).toEqual({ name: 'features', datatype: 'FP32', shape: ['-1', '4'] });
    expect((await client.call('ModelMetadata', { name: 'penguins', version: '1' })).versions).toEqual(['1']);
    expect(await client.call('ModelReady', { name: 'penguins', version: '1' })).toEqual({ ready: true });
    // As Triton's: a model not served is not ready (OK), not NOT_FOUND (tritonclient polls it).
    expect(await client.call('ModelReady', { name: 'nope', version: '' })).toEqual({ ready: false });
    expect(await client.call('ModelReady', { name: 'penguins', version: '9' })).toEqual({ ready: false });
    expect(await codeOf(client.call('ModelMetadata', { name: 'penguins', version: '9' }))).toBe(status.NOT_FOUND);
  });
});

describe('gRPC: ModelInfer', () => {
  it('raw contents equal a direct ONNX Runtime run, for each version', async () => {
    for (const version of ['1', '2']) {
      const expected = await runAlone(join(repo.dir, `penguins/${version}/model.onnx`), 'features', 'probabilities', penguinsRows);
      const res = await client.call('ModelInfer', { ...rawFeatures(penguinsRows, version), id: `req-${version}` });
      expect(res).toMatchObject({ model_name: 'penguins', model_version: version, id: `req-${version}` });
      expect(rawOutput(res, 'probabilities')).toEqual(expected.flat());
      expect(rawOutput(res, 'label')).toHaveLength(penguinsRows.length);
    }
  });

  it('model_version "-1" is the version the policy serves, as Triton reads it (its classification example sends it)', async () => {
    const res = await client.call('ModelInfer', rawFeatures(penguinsRows, '-1'));
    expect(res).toMatchObject({ model_name: 'penguins', model_version: '2' });
    expect(await client.call('ModelReady', { name: 'penguins', version: '-1' })).toEqual({ ready: true });
  });

  it('typed InferTensorContents in, typed contents out', async () => {
    const expected = await runAlone(join(repo.dir, 'penguins/2/model.onnx'), 'features', 'probabilities', penguinsRows);
    const res = await client.call('ModelInfer', {
      model_name: 'penguins',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [4, 4], contents: { fp32_contents: penguinsRows.flat() } }],
      outputs: [{ name: 'probabilities' }],
    });
    expect(res.raw_output_contents).toEqual([]);
    expect(res.outputs).toHaveLength(1);
    expect(res.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: ['4', '3'] });
    expect(res.outputs[0].contents.fp32_contents).toEqual(expected.flat());
  });

  it('every datatype travels as raw contents, byte for byte', async () => {
    const res = await client.call('ModelInfer', {
      model_name: 'echo',
      inputs: DATATYPES.map((d) => ({ name: `in_${d}`, datatype: d, shape: [2, 3] })),
      raw_input_contents: DATATYPES.map((d) => toBytes(d, ECHO[d])),
    });
    for (const d of DATATYPES) {
      const i = res.outputs.findIndex((o: { name: string }) => o.name === `out_${d}`);
      expect(res.outputs[i].datatype).toBe(d);
      expect(Buffer.from(res.raw_output_contents[i]), d).toEqual(toBytes(d, ECHO[d]));
    }
  });

  it('every datatype but FP16 travels as typed contents', async () => {
    const typed = (d: Datatype, v: Value[]) => (d === 'BYTES' ? v.map((s) => Buffer.from(String(s))) : v.map((x) => (typeof x === 'bigint' ? String(x) : x)));
    const res = await client.call('ModelInfer', {
      model_name: 'echo_typed',
      inputs: TYPED.map((d) => ({ name: `in_${d}`, datatype: d, shape: [2, 3], contents: { [FIELD[d]]: typed(d, ECHO[d]) } })),
    });
    for (const d of TYPED) {
      const out = res.outputs.find((o: { name: string }) => o.name === `out_${d}`);
      const got = out.contents[FIELD[d]] as unknown[];
      const want = typed(d, ECHO[d]);
      if (d === 'FP32' || d === 'FP64') expect(got.map(String), d).toEqual(want.map(String));
      else if (d === 'BYTES') expect(got.map((b) => Buffer.from(b as Buffer).toString()), d).toEqual(ECHO.BYTES);
      else expect(got.map(String), d).toEqual(want.map(String));
    }
  });

  it('BYTES that are not UTF-8 text, or hold a NUL, are INVALID_ARGUMENT (they would reach the model altered)', async () => {
    const others = DATATYPES.filter((d) => d !== 'BYTES');
    const withBytes = (bytes: Buffer[]) => {
      const frames = Buffer.concat(bytes.map((b) => Buffer.concat([Buffer.from([b.length, 0, 0, 0]), b])));
      return {
        model_name: 'echo',
        inputs: [...others, 'BYTES' as const].map((d) => ({ name: `in_${d}`, datatype: d, shape: [2, 3] })),
        raw_input_contents: [...others.map((d) => toBytes(d, ECHO[d])), frames],
      };
    };
    const texts = ['a', 'b', 'c', 'd', 'e'].map((s) => Buffer.from(s));
    for (const odd of [Buffer.from([0xff, 0xfe]), Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from('a\0b')]) {
      const err = await client.call('ModelInfer', withBytes([...texts, odd])).then(() => undefined, (e: { code: number; details: string }) => e);
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/BYTES element 5 (is not UTF-8 text|holds a NUL byte)/);
    }
    const typed = await client.call('ModelInfer', {
      model_name: 'echo',
      inputs: [{ name: 'in_BYTES', datatype: 'BYTES', shape: [1, 1], contents: { bytes_contents: [Buffer.from([0xc3])] } }],
    }).then(() => undefined, (e: { code: number; details: string }) => e);
    expect(typed?.code).toBe(status.INVALID_ARGUMENT);
    expect(typed?.details).toMatch(/BYTES element 0 is not UTF-8 text/);
  });

  it('a fixed-batch model, and classification', async () => {
    const fixed = await client.call('ModelInfer', {
      model_name: 'fixed',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }, { name: 'y', datatype: 'INT32', shape: [2, 3] }],
      raw_input_contents: [toBytes('FP32', [1, 2, 3, 4, 5, 6]), toBytes('INT32', [1, 1, 1, -1, -1, -1])],
    });
    expect(rawOutput(fixed, 'sum')).toEqual([2, 3, 4, 3, 4, 5]);
    const cls = await client.call('ModelInfer', {
      ...rawFeatures(penguinsRows.slice(0, 2)),
      outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: 5 } } }],
    });
    expect(cls.outputs[0]).toMatchObject({ datatype: 'BYTES', shape: ['2', '3'] }); // k past the 3 classes answers the 3, as Triton does
    for (const s of rawOutput(cls, 'probabilities')) expect(String(s)).toMatch(/^-?[0-9]+\.[0-9]{6}:[0-2]:(Adelie|Chinstrap|Gentoo)$/);
  });

  it('an unknown credential is refused before the message is read: anonymous 40 MB calls leave the API\'s memory as it was', async () => {
    const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${cluster.api.child.pid}/status`, 'utf8'))![1]) / 1024;
    const big = { ...rawFeatures(penguinsRows), raw_input_contents: [Buffer.alloc(40 * 1024 * 1024, 1)] };
    const before = await rss();
    const codes = await Promise.all(Array.from({ length: 8 }, (_, i) => codeOf(client.call('ModelInfer', big, i % 2 ? 'wrong' : ''))));
    expect(codes).toEqual(Array(8).fill(status.UNAUTHENTICATED));
    // Read and decoded first (before this was refused from the metadata), the eight took the API
    // from about 165 MB to over 1 GB (a security audit: 1.6 GB with 12 calls of 60 MB).
    expect(await rss() - before).toBeLessThan(100);
    // A known key's call is read and answered as ever, and health needs none.
    expect(await codeOf(client.call('ModelInfer', rawFeatures(penguinsRows)))).toBe(status.OK);
    expect(await client.call('ServerReady', {}, '')).toEqual({ ready: true });
  });

  it('a message of millions of empty entries is refused from its bytes, before it is decoded: the API\'s memory stays as it was', async () => {
    const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${cluster.api.child.pid}/status`, 'utf8'))![1]) / 1024;
    // model_name "mlp", then 2,000,000 empty `inputs` (field 5): 4 MB. Decoded first (before the
    // bound was read from the bytes), each took 5.5 s and 750 MB; 60 MB (61 KB gzipped) ran the
    // API out of memory (a security audit).
    const head = Buffer.from([0x0a, 0x03, ...Buffer.from('mlp')]);
    const bytes = Buffer.concat([head, Buffer.alloc(4_000_000).fill(Buffer.from([0x2a, 0x00]))]);
    const raw = new GrpcClient(cluster.grpcAddress, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const md = new Metadata();
    md.set('authorization', `Bearer ${KEY}`);
    const send = () => new Promise<ServiceError | null>((resolve) => {
      raw.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, bytes, md, { deadline: Date.now() + 20_000 }, (err) => resolve(err));
    });
    try {
      const before = await rss();
      const answers = await Promise.all(Array.from({ length: 6 }, send));
      for (const err of answers) {
        expect(err?.code).toBe(status.INVALID_ARGUMENT);
        expect(err?.details).toMatch(/inputs: at most 4096/);
      }
      expect(await rss() - before).toBeLessThan(100);
    } finally {
      raw.close();
    }
    expect(await codeOf(client.call('ModelInfer', rawFeatures(penguinsRows)))).toBe(status.OK);
  });

  it('errors are the HTTP errors as status codes', async () => {
    expect(await codeOf(client.call('ModelInfer', { ...rawFeatures(penguinsRows), model_name: 'nope' }))).toBe(status.NOT_FOUND);
    expect(await codeOf(client.call('ModelInfer', rawFeatures(penguinsRows), ''))).toBe(status.UNAUTHENTICATED);
    const short = { ...rawFeatures(penguinsRows), raw_input_contents: [toBytes('FP32', [1, 2, 3])] };
    const err = await client.call('ModelInfer', short).catch((e: ServiceError) => e);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((err as ServiceError).details).toMatch(/binary data has 12 bytes but shape \[4, 4\] of FP32 needs 64/);
    // int64 dimensions: negative ones (two multiply to a count that matches the data) and ones past 2^53 are refused here, as REST refuses them
    for (const shape of [['-1', '-16'], ['9223372036854775807', '4']]) {
      const dims = await client.call('ModelInfer', { ...rawFeatures(penguinsRows), inputs: [{ name: 'features', datatype: 'FP32', shape }] }).catch((e: ServiceError) => e);
      expect(dims).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^inputs\[0\]\.shape\[0\]: must be an integer from 0 to 9007199254740991/) });
    }
    const twoRaw = { ...rawFeatures(penguinsRows), raw_input_contents: [toBytes('FP32', [1]), toBytes('FP32', [1])] };
    expect(await codeOf(client.call('ModelInfer', twoRaw))).toBe(status.INVALID_ARGUMENT);
    const wrongShape = { model_name: 'fixed', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] };
    expect(await codeOf(client.call('ModelInfer', wrongShape))).toBe(status.INVALID_ARGUMENT);
    // Triton's shared-memory parameters: refused by name (no region can be registered here), never answered inline.
    const shmOutput = { ...rawFeatures(penguinsRows), outputs: [{ name: 'label', parameters: { shared_memory_region: { string_param: 'out' }, shared_memory_byte_size: { int64_param: 32 } } }] };
    const shm = await client.call('ModelInfer', shmOutput).catch((e: ServiceError) => e);
    // A message that decodes to no model name (empty, or bytes of fields it has not) names what is missing.
    expect(await client.call('ModelInfer', { inputs: [] }).catch((e: ServiceError) => e)).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/model_name: is required/) });
    expect(shm).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/outputs\[0\]\.parameters: shared_memory_region: shared memory is not supported/) });
  });

  it('a classification that is not an integer from 1 to 1000, in any parameter type, is INVALID_ARGUMENT and queues nothing', async () => {
    const redis = cluster.redisClient();
    try {
      const before = new Set(await redis.keys('*'));
      for (const k of [{ int64_param: '-2' }, { int64_param: '0' }, { double_param: 2.5 }, { string_param: 'abc' }, { bool_param: true }, { int64_param: '1001' }]) {
        const req = { ...rawFeatures(penguinsRows), outputs: [{ name: 'probabilities', parameters: { classification: k } }] };
        const err = await client.call('ModelInfer', req).catch((e: ServiceError) => e);
        expect(err, JSON.stringify(k)).toMatchObject({ code: status.INVALID_ARGUMENT });
        expect((err as ServiceError).details).toMatch(/classification must be an integer from 1 to 1000/);
      }
      expect((await redis.keys('*')).filter((k) => !before.has(k) && k.includes('job_'))).toEqual([]); // no job was made
      const ok = await client.call('ModelInfer', { ...rawFeatures(penguinsRows), outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: '2' } } }] });
      expect(ok.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'BYTES', shape: [String(penguinsRows.length), '2'] });
      expect((await redis.keys('*')).filter((k) => !before.has(k) && k.includes('job_')).length).toBeGreaterThan(0); // as a job does
    } finally {
      redis.disconnect();
    }
  });

  it('a request with tens of thousands of problems is answered at once, its message cut short; the connection goes on serving', async () => {
    const dims = { model_name: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: Array.from({ length: 20_000 }, () => 1) }], raw_input_contents: [toBytes('FP32', [1])] };
    const dimsErr = await client.call('ModelInfer', dims, KEY, 10_000).catch((e: ServiceError) => e);
    expect(dimsErr).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'inputs[0].shape: at most 64 dimensions (got 20000)' });
    const duplicates = { model_name: 'penguins', inputs: Array.from({ length: 2000 }, () => ({ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } })) };
    const tooMany = { model_name: 'penguins', inputs: Array.from({ length: 5000 }, (_, i) => ({ name: `x${i}`, datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } })) };
    expect(await client.call('ModelInfer', tooMany, KEY, 10_000).catch((e: ServiceError) => e)).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'inputs: at most 4096 (got more)' }); // counted from the message's bytes, before it is decoded
    for (const req of [duplicates]) {
      const err = await client.call('ModelInfer', req, KEY, 10_000).catch((e: ServiceError) => e);
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
      expect((err as ServiceError).details.length).toBeLessThanOrEqual(2000);
      expect((err as ServiceError).details).toMatch(/more characters\)$/);
    }
    expect(rawOutput(await client.call('ModelInfer', rawFeatures(penguinsRows), KEY, 10_000), 'probabilities')).toHaveLength(3 * penguinsRows.length);
  });
});

describe('gRPC: Triton extensions', () => {
  it('ModelConfig and ModelStatistics', async () => {
    const { config } = await client.call('ModelConfig', { name: 'penguins', version: '' });
    expect(config).toMatchObject({
      name: 'penguins', platform: 'onnxruntime_onnx', max_batch_size: 256, scheduling_choice: 'dynamic_batching',
      input: [{ name: 'features', data_type: 'TYPE_FP32', dims: ['4'] }],
      output: [expect.anything(), expect.objectContaining({ name: 'label', dims: ['1'], reshape: { shape: [] } })],
      version_policy: { policy_choice: 'latest', latest: { num_versions: 2 } },
      model_warmup: [
        { name: 'zeros_1', batch_size: 1, count: 1, inputs: { features: { data_type: 'TYPE_FP32', dims: ['4'], zero_data: true, input_data_type: 'zero_data' } } },
        { name: 'zeros_256', batch_size: 256, count: 1, inputs: { features: { data_type: 'TYPE_FP32', dims: ['4'], zero_data: true, input_data_type: 'zero_data' } } },
      ],
    });
    // Statistics are written every 100 ms: the requests of the tests above show within that.
    type Stats = { version: string; execution_count: string; inference_stats: { success: { count: string } } };
    const model_stats = await eventually(
      async () => (await client.call('ModelStatistics', { name: 'penguins', version: '' })).model_stats as Stats[],
      (stats) => Number(stats.find((s) => s.version === '2')?.inference_stats.success.count ?? 0) > 0,
      { ms: 5000, what: 'the successes of penguins/2 in its statistics' },
    );
    expect(model_stats.map((s) => s.version).sort()).toEqual(['1', '2']);
    const v2 = model_stats.find((s) => s.version === '2')!;
    expect(Number(v2.inference_stats.success.count)).toBeGreaterThan(0);
    expect(Number(v2.execution_count)).toBeGreaterThan(0);
  });

  it('RepositoryIndex, RepositoryModelUnload and RepositoryModelLoad', async () => {
    const { models } = await client.call('RepositoryIndex', { ready: true });
    expect(models).toEqual(expect.arrayContaining([{ name: 'echo', version: '1', state: 'READY', reason: '' }]));
    // Loading and unloading change a model for every tenant: the admin key's, never a tenant's.
    for (const method of ['RepositoryModelUnload', 'RepositoryModelLoad']) {
      const refused = await client.call(method, { model_name: 'echo' }).catch((e: ServiceError) => e);
      expect(refused, method).toMatchObject({ code: status.PERMISSION_DENIED });
      expect((refused as ServiceError).details).toMatch(/a tenant key cannot load or unload a model/);
      expect(await codeOf(client.call(method, { model_name: 'echo' }, 'wrong'))).toBe(status.UNAUTHENTICATED);
    }
    await client.call('RepositoryModelUnload', { model_name: 'echo' }, ADMIN_KEY);
    expect(await codeOf(client.call('ModelInfer', { model_name: 'echo', inputs: [] }))).toBe(status.NOT_FOUND);
    expect(await client.call('ModelReady', { name: 'echo', version: '' })).toEqual({ ready: false });
    // A configuration or files sent with the load would not be what is served: refused.
    expect(await codeOf(client.call('RepositoryModelLoad', { model_name: 'echo', parameters: { config: { string_param: '{}' } } }, ADMIN_KEY))).toBe(status.INVALID_ARGUMENT);
    await client.call('RepositoryModelLoad', { model_name: 'echo' }, ADMIN_KEY);
    expect(await client.call('ModelReady', { name: 'echo', version: '' })).toEqual({ ready: true }); // the load answered once served
    // What the admin key loads it may read, and run nothing
    expect(await client.call('ModelReady', { name: 'echo', version: '' }, ADMIN_KEY)).toEqual({ ready: true });
    expect((await client.call('RepositoryIndex', {}, ADMIN_KEY)).models.length).toBeGreaterThan(0);
    expect(await codeOf(client.call('ModelInfer', rawFeatures(penguinsRows), ADMIN_KEY))).toBe(status.PERMISSION_DENIED); // known, and not a tenant's
    expect((await client.call('ModelMetadata', { name: 'echo' })).name).toBe('echo');
    expect(await codeOf(client.call('RepositoryModelLoad', { model_name: 'nope' }, ADMIN_KEY))).toBe(status.NOT_FOUND);
  });
});

describe('a GRPC_PORT already taken', () => {
  it('stops start-up with exit 1, every line of its log JSON (grpc-js\'s own line included: it was plain text on stderr)', async () => {
    const port = Number(cluster.grpcAddress.split(':').at(-1)); // the running API's
    const r = await startAndExit('api-grpc-taken', API_ENTRY, {
      REDIS_URL: cluster.redis.url, MODEL_REPOSITORY: repo.dir, PORT: '0', GRPC_PORT: String(port), HOST: '127.0.0.1',
    });
    expect(r.code).toBe(1);
    const lines = r.log.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(r.log).toMatch(/No address added/);
  });
});

describe('what a client without a key may hold on the gRPC port (the last suite here: it starts another API)', () => {
  it('a connection that never begins HTTP/2 is closed after IDLE_TIMEOUT_S; Watches past 500 are refused; a Watch of an unknown service ends at shutdown', async () => {
    const api = await cluster.startApi({ IDLE_TIMEOUT_S: '3', MAX_WAIT_S: '1', INFER_TIMEOUT_S: '1', SHUTDOWN_GRACE_S: '30' });
    const [host, port] = [cluster.grpcAddress.split(':')[0]!, Number(cluster.grpcAddress.split(':')[1])];
    const t0 = Date.now();
    const closedAfter = await Promise.all(Array.from({ length: 3 }, () => new Promise<number>((resolve) => {
      const s = connect(port, host);
      s.on('error', () => {});
      s.resume(); // reads, so that it hears the close
      s.on('close', () => resolve(Date.now() - t0));
    })));
    for (const ms of closedAfter) expect(ms).toBeLessThan(10_000); // before: open without end (an unauthenticated client's descriptors)

    const health = new HealthClient(cluster.grpcAddress);
    try {
      const watches = Array.from({ length: 500 }, () => health.watch(''));
      await eventually(async () => watches.filter((w) => w.statuses.length > 0).length, (n) => n === 500, { ms: 20_000, what: '500 Watches to hear their first status' });
      const past = health.watch('');
      await eventually(async () => past.error, (e) => e !== undefined, { ms: 10_000, what: 'the 501st Watch to be refused' });
      expect(past.error).toBe(status.RESOURCE_EXHAUSTED);
      for (const w of watches) w.close();
      await eventually(async () => { const w = health.watch(''); await new Promise((r) => setTimeout(r, 200)); w.close(); return w.error; }, (e) => e === undefined, { ms: 10_000, what: 'a Watch taken again once they closed' });

      const unknown = health.watch('no.such.Service');
      await eventually(async () => unknown.statuses, (s) => s.length === 1, { ms: 5000, what: 'SERVICE_UNKNOWN' });
      expect(unknown.statuses).toEqual(['SERVICE_UNKNOWN']);
      const stopping = Date.now();
      expect(await api.stop('SIGTERM', 40_000)).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(15_000); // before: the open Watch held the stop to SHUTDOWN_GRACE_S (30 s)
      expect(unknown.ended || unknown.error !== undefined).toBe(true);
    } finally {
      health.close();
    }
  });
});
