/**
 * Triton and KServe REST clients, unchanged: requests without Content-Type, unknown
 * parameters, `{"error"}` bodies, the binary tensor extension written byte by byte, and
 * Triton's configuration, statistics and repository extensions. Real processes; results
 * checked against a direct ONNX Runtime run (fidelity) and against the bytes sent (echo).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MaasClient, type Tensor } from '@maas/client';
import { f16round } from '@petamoriken/float16';
import { buildEchoModel } from '@maas/model-gen/test-models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binaryBody, call, Cluster, eventually, modelRepository, post, rows, runAlone, toBytes, type BinaryInput, type Datatype, type Value,
} from '../src/harness/index.js';

const KEY = 'key-a';
const AUTH = { authorization: `Bearer ${KEY}` };
const ADMIN_KEY = 'admin-key-0123456789';
const ADMIN_AUTH = { authorization: `Bearer ${ADMIN_KEY}` };
let cluster: Cluster;
let repo: { dir: string; remove(): Promise<void> };

/** Echo rows for every datatype: two rows of three, with each type's extremes. */
export const ECHO_VALUES: Record<Datatype, Value[]> = {
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
export const DATATYPES = Object.keys(ECHO_VALUES) as Datatype[];

beforeAll(async () => {
  repo = await modelRepository();
  await mkdir(join(repo.dir, 'echo/1'), { recursive: true });
  await writeFile(join(repo.dir, 'echo/1/model.onnx'), buildEchoModel());
  await writeFile(join(repo.dir, 'echo/config.json'), JSON.stringify({ max_batch_size: 16 }));
  cluster = await Cluster.start({ models: repo.dir, api: { API_KEYS: `a:${KEY},b:key-b`, ADMIN_KEY } });
});
afterAll(async () => {
  await cluster?.stop();
  await repo?.remove();
});

const url = (path: string) => cluster.url + path;
/** Retries `check` (assertions) until it passes; the last failure is the error. */
async function until(check: () => Promise<void>): Promise<void> {
  let last: unknown;
  await eventually(() => check().then(() => true, (err: unknown) => ((last = err), false)), (ok) => ok, { context: () => String(last) });
}
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const penguinsRows = rows(3, 5, 4);
const penguinsJson = (data = penguinsRows) => ({ inputs: [{ name: 'features', datatype: 'FP32', shape: [data.length, 4], data }] });
const f32 = (v: number[]) => v.map((x) => Math.fround(x));

describe('KServe and Triton REST clients', () => {
  it('a POST without Content-Type is read as JSON, with unknown parameters anywhere', async () => {
    const body = {
      id: 'r1',
      parameters: { sequence_id: 0, something_new: 'x' },
      inputs: [{ ...penguinsJson().inputs[0], parameters: { binary_data_size: undefined, custom: true } }],
      outputs: [{ name: 'label', parameters: { binary_data: false, other: 1 } }],
    };
    const r = await post(url('/v2/models/penguins/infer'), json(body), AUTH);
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.headers['inference-header-content-length']).toBeUndefined();
    expect(r.json).toMatchObject({ model_name: 'penguins', model_version: '2', id: 'r1' });
    expect(r.json.outputs.map((o: { name: string }) => o.name)).toEqual(['label']);
    const job = await post(url('/v1/jobs'), json({ model: 'penguins', parameters: { x: 1 }, ...penguinsJson() }), { ...AUTH, prefer: 'wait=20' });
    expect(job.status, job.body.toString()).toBe(200);
    expect(job.json.status).toBe('succeeded');
  });

  it("a body sent with a client's default type (curl -d, urllib: form-urlencoded; fetch of a string: text/plain) is read as JSON, as Triton reads it; optional fields sent as null are absent", async () => {
    const form = { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' };
    const r = await post(url('/v2/models/penguins/infer'), json(penguinsJson()), form);
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.json.outputs.find((o: { name: string }) => o.name === 'probabilities').shape).toEqual([5, 3]);
    const text = await post(url('/v1/jobs'), json({ model: 'penguins', ...penguinsJson() }), { ...AUTH, 'content-type': 'text/plain;charset=UTF-8', prefer: 'wait=20' });
    expect(text.status, text.body.toString()).toBe(200);
    // The repository routes read it too (the C++ tritonclient's load sends it): a config is refused, not dropped.
    const load = await post(url('/v2/repository/models/mlp/load'), json({ parameters: { config: '{"max_batch_size": 8}' } }), { ...ADMIN_AUTH, 'content-type': 'application/x-www-form-urlencoded' });
    expect(load.status, load.body.toString()).toBe(400);
    expect(load.json.error).toMatch(/is not supported: a load reads the model from the repository/);
    // A non-JSON body under that type is malformed JSON (400), and other types stay a 415.
    expect((await post(url('/v2/models/penguins/infer'), Buffer.from('inputs=1'), form)).json).toMatchObject({ status: 400, type: 'urn:maas:problem:malformed-json' });
    expect((await post(url('/v2/models/penguins/infer'), json(penguinsJson()), { ...AUTH, 'content-type': 'application/xml' })).status).toBe(415);
    // KServe's Python SDK sends "id": null; others parameters and outputs as null.
    const nulls = { id: null, parameters: null, inputs: [{ ...penguinsJson().inputs[0], parameters: null }], outputs: [{ name: 'label', parameters: null }] };
    const n = await post(url('/v2/models/penguins/infer'), json(nulls), AUTH);
    expect(n.status, n.body.toString()).toBe(200);
    expect(n.json.outputs.map((o: { name: string }) => o.name)).toEqual(['label']);
    expect((await post(url('/v2/models/penguins/infer'), json({ ...penguinsJson(), outputs: null }), AUTH)).json.outputs).toHaveLength(2);
  });

  it("Triton's shared-memory parameters are refused by name (no region can be registered here), never answered inline", async () => {
    const asks = [
      { ...penguinsJson(), outputs: [{ name: 'label', parameters: { binary_data: false, shared_memory_region: 'output_data', shared_memory_byte_size: 8 } }] },
      { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], parameters: { shared_memory_region: 'input_data', shared_memory_byte_size: 16 } }] },
    ];
    for (const body of asks) {
      const r = await post(url('/v2/models/penguins/infer'), json(body), AUTH);
      expect(r.status, r.body.toString()).toBe(400);
      expect(r.json.error).toMatch(/shared_memory_region: shared memory is not supported/);
    }
  });

  it('every /v2 error carries "error" beside the RFC 9457 fields; /v1 errors do not', async () => {
    const cases = [
      await post(url('/v2/models/nope/infer'), json(penguinsJson()), AUTH),
      await post(url('/v2/models/penguins/infer'), json({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }), AUTH),
      await post(url('/v2/models/penguins/infer'), Buffer.from('{"inputs": ['), AUTH),
      await post(url('/v2/models/penguins/infer'), json(penguinsJson())),
      await post(url('/v2/models/penguins/infer'), json(penguinsJson()), { ...AUTH, 'content-type': 'text/csv' }),
    ];
    expect(cases.map((c) => c.status)).toEqual([404, 400, 400, 401, 415]);
    for (const c of cases) {
      expect(c.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(c.json.error).toBe(c.json.detail);
      expect(c.json).toHaveProperty('type');
      expect(c.json).toHaveProperty('title');
    }
    const v1 = await call(cluster.url, 'GET', '/v1/jobs/job_nope', undefined, AUTH);
    expect(v1.status).toBe(404);
    expect(v1.body).not.toHaveProperty('error');
  });
});

describe('@maas/client over JSON, every datatype', () => {
  it('sends and reads INT64/UINT64 values past 2^53 exactly (as bigints), the rest as numbers, strings and booleans', async () => {
    const maas = new MaasClient({ baseUrl: cluster.url, apiKey: KEY });
    const finite: Partial<Record<Datatype, Value[]>> = { FP16: [0, 1.5, 65504, 0.1, -2, 2 ** -24], FP32: [0, 1.5, 3.4028234663852886e38, 0.1, -2, 3], FP64: [5e-324, Math.PI, -1e300, 0.1, -2, 3] };
    const sent = Object.fromEntries(DATATYPES.map((d) => [d, finite[d] ?? ECHO_VALUES[d]])) as Record<Datatype, Value[]>;
    // The SDK's reading: an integer a double holds is a number, one past 2^53 a bigint.
    const read = (v: Value) => (typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v);
    const inputs: Tensor[] = DATATYPES.map((d) => ({ name: `in_${d}`, datatype: d, shape: [2, 3], data: sent[d]!.map(read) as Tensor['data'] }));
    const res = await maas.infer('echo', inputs);
    for (const d of DATATYPES) {
      const out = res.outputs.find((o) => o.name === `out_${d}`)!;
      const want = d === 'FP32' ? sent[d]!.map((v) => Math.fround(v as number)) : d === 'FP16' ? sent[d]!.map((v) => f16round(v as number)) : sent[d]!.map(read);
      expect(out.data, d).toEqual(want);
    }
    expect(res.outputs.find((o) => o.name === 'out_INT64')!.data[0]).toBe(-9223372036854775808n);
    expect(res.outputs.find((o) => o.name === 'out_UINT64')!.data[1]).toBe(18446744073709551615n);
  });
});

describe('two Authorization headers', () => {
  it('are a 400 invalid_request, not the first one picked (a proxy in front may have read the other), on tenant and admin routes alike', async () => {
    const { request } = await import('node:http');
    const send = (method: string, path: string, first: string) => new Promise<{ status: number; challenge: string | undefined; body: string }>((resolve, reject) => {
      // node:http sends an array value as one header line each
      const req = request(`${cluster.url}${path}`, { method, headers: { authorization: [`Bearer ${first}`, 'Bearer key-b'] as unknown as string } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body }));
      });
      req.on('error', reject);
      req.end();
    });
    for (const [method, path, first] of [
      ['GET', '/v2/models/penguins', KEY], ['GET', '/admin/status.json', ADMIN_KEY], ['GET', '/v1/models', ADMIN_KEY],
      ['POST', '/v2/repository/models/nope/unload', ADMIN_KEY],
    ] as const) {
      const answer = await send(method, path, first);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.challenge).toBe('Bearer error="invalid_request"');
      expect(JSON.parse(answer.body).detail).toMatch(/one Authorization header/);
    }
  });
});

describe('a tenant key as Basic auth\'s password (tritonclient\'s BasicAuth plugin sends it so)', () => {
  it('serves the key\'s tenant whatever the user name; a wrong password, or none, is a 401', async () => {
    const basic = (userPass: string) => ({ authorization: `Basic ${Buffer.from(userPass).toString('base64')}` });
    expect((await call(cluster.url, 'GET', '/v2/models/penguins', undefined, basic(`anyone:${KEY}`))).status).toBe(200);
    const infer = await call(cluster.url, 'POST', '/v2/models/penguins/infer', penguinsJson(), basic(`:${KEY}`));
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    // The job is the tenant's: tenant b's key reads it as not found, tenant a's by either scheme.
    const job = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', ...penguinsJson() }, basic(`u:${KEY}`));
    expect(job.status).toBe(202);
    expect((await call(cluster.url, 'GET', `/v1/jobs/${job.body.id}`, undefined, AUTH)).status).toBe(200);
    expect((await call(cluster.url, 'GET', `/v1/jobs/${job.body.id}`, undefined, basic('u:key-b'))).status).toBe(404);
    for (const wrong of [basic('u:nope'), basic(KEY), basic(`${KEY}:`), { authorization: 'Basic !!!' }]) {
      expect((await call(cluster.url, 'GET', '/v2/models/penguins', undefined, wrong)).status, wrong.authorization).toBe(401);
    }
  });
});

describe('a request target in absolute form (RFC 9112 §3.2.2: what a proxy-minded client sends)', () => {
  it('is served as its path: health without a key, /admin with the admin key, a job with a tenant key', async () => {
    const { request } = await import('node:http');
    const send = (path: string, method: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(cluster.url, { path: `http://maas.example${path}`, method, headers }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect((await send('/v2/health/live', 'GET', {})).status).toBe(200);
    expect((await send('/admin', 'GET', { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(200);
    expect((await send('/admin', 'GET', AUTH)).status).toBe(401);
    const job = await send('/v1/jobs', 'POST', { ...AUTH, 'content-type': 'application/json' }, JSON.stringify({ model: 'penguins', ...penguinsJson() }));
    expect(job.status, job.body).toBe(202);
    expect((await send(`/v1/jobs/${JSON.parse(job.body).id}`, 'GET', AUTH)).status).toBe(200);
    // As in origin form, an inference body without a Content-Type is read as JSON (CONTRACT §3).
    const bare = await send('/v2/models/penguins/infer', 'POST', AUTH, JSON.stringify(penguinsJson()));
    expect(bare.status, bare.body).toBe(200);
    expect(JSON.parse(bare.body).outputs.length).toBeGreaterThan(0);
  });
});

describe('v2 requests of one turn packed into one job', () => {
  const echoInputs = (k: number): BinaryInput[] => DATATYPES.map((d) => ({
    name: `in_${d}`, datatype: d, shape: [2, 3],
    values: d === 'INT32' ? [0, 1, 2, 3, 4, 5].map((i) => k * 10 + i) : d === 'BYTES' ? [0, 1, 2, 3, 4, 5].map((i) => `r${k}-${i}`) : ECHO_VALUES[d],
  }));
  const echo = (k: number) => {
    const { body, headerLength } = binaryBody({ parameters: { binary_data_output: true } }, echoInputs(k));
    return post(url('/v2/models/echo/infer'), body, { ...AUTH, 'inference-header-content-length': String(headerLength) });
  };
  const successes = async (model: string, version: number) => {
    const s = await call(cluster.url, 'GET', `/v2/models/${model}/versions/${version}/stats`, undefined, AUTH);
    return Number(s.body.model_stats[0].inference_stats.success.count);
  };

  it('concurrent requests share a job, and each answer is exactly its own rows, byte for byte', async () => {
    // Settled first: an earlier test's request may still be on its way into the statistics (written every 100 ms).
    let before = await successes('echo', 1);
    for (let last = -1; last !== before; ) {
      last = before;
      await new Promise((r) => setTimeout(r, 300));
      before = await successes('echo', 1);
    }
    let sent = 0;
    let shared = false;
    // Requests fired together reach the API in one turn (a round without any shared job is retried).
    for (let round = 0; round < 5 && !shared; round++) {
      const replies = await Promise.all(Array.from({ length: 24 }, (_, k) => echo(round * 100 + k)));
      sent += replies.length;
      replies.forEach((r, k) => {
        expect(r.status, r.body.toString()).toBe(200);
        for (const d of DATATYPES) {
          expect(toBytes(d, r.binary[`out_${d}`]!), `${d} of request ${k}`).toEqual(toBytes(d, echoInputs(round * 100 + k).find((i) => i.name === `in_${d}`)!.values));
        }
      });
      shared = new Set(replies.map((r) => r.headers['x-job-id'])).size < replies.length;
    }
    expect(shared).toBe(true);
    // Triton's statistics count requests, not the jobs they were packed into.
    await until(async () => expect(await successes('echo', 1)).toBe(before + sent));
  });

  it('packed JSON requests of different sizes each get what a direct ONNX Runtime run gives their rows', async () => {
    const sets = Array.from({ length: 12 }, (_, k) => rows(100 + k, 1 + (k % 3), 4));
    const expected = await Promise.all(sets.map((data) => runAlone(join(repo.dir, 'penguins/2/model.onnx'), 'features', 'probabilities', data)));
    const replies = await Promise.all(sets.map((data) => post(url('/v2/models/penguins/infer'), json(penguinsJson(data)), AUTH)));
    replies.forEach((r, k) => {
      expect(r.status, r.body.toString()).toBe(200);
      const probs = r.json.outputs.find((o: { name: string }) => o.name === 'probabilities');
      expect(probs.shape).toEqual([sets[k]!.length, 3]);
      expect(probs.data).toEqual(expected[k]!.flat());
      expect(r.json.outputs.find((o: { name: string }) => o.name === 'label').data).toHaveLength(sets[k]!.length);
    });
  });
});

describe('binary tensor extension', () => {
  const infer = (model: string, header: Record<string, unknown>, inputs: BinaryInput[], path = `/v2/models/${model}/infer`) => {
    const { body, headerLength } = binaryBody(header, inputs);
    return post(url(path), body, { ...AUTH, 'inference-header-content-length': String(headerLength) });
  };
  const features = (data: number[][]): BinaryInput => ({ name: 'features', datatype: 'FP32', shape: [data.length, 4], values: data.flat() });

  it('binary and JSON outputs equal a direct ONNX Runtime run, for each version of a multi-version model', async () => {
    for (const version of [1, 2]) {
      const expected = await runAlone(join(repo.dir, `penguins/${version}/model.onnx`), 'features', 'probabilities', penguinsRows);
      const r = await infer('penguins', { parameters: { binary_data_output: true } }, [features(penguinsRows)], `/v2/models/penguins/versions/${version}/infer`);
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/octet-stream/);
      expect(Number(r.headers['inference-header-content-length'])).toBeGreaterThan(0);
      expect(r.json.model_version).toBe(String(version));
      expect(r.binary['probabilities']).toEqual(expected.flat());
      expect(r.binary['label']).toHaveLength(penguinsRows.length);
      // The same rows as plain JSON, without a Content-Type: the same numbers.
      const j = await post(url(`/v2/models/penguins/versions/${version}/infer`), json(penguinsJson()), AUTH);
      expect(j.json.outputs.find((o: { name: string }) => o.name === 'probabilities').data).toEqual(expected.flat());
    }
  });

  it('mixes binary and JSON outputs as each output asks', async () => {
    const r = await infer('penguins', {
      parameters: { binary_data_output: true },
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label', parameters: { binary_data: false } }],
    }, [features(penguinsRows)]);
    expect(r.status).toBe(200);
    const [probs, label] = r.json.outputs;
    expect(probs.parameters.binary_data_size).toBe(5 * 3 * 4);
    expect(probs).not.toHaveProperty('data');
    expect(label.data).toHaveLength(5);
    expect(r.binary['probabilities']).toHaveLength(15);
  });

  it('binary inputs with a JSON answer (no output asked in binary)', async () => {
    const r = await infer('penguins', {}, [features(penguinsRows)]);
    expect(r.status).toBe(200);
    expect(r.headers['inference-header-content-length']).toBeUndefined();
    expect(r.json.outputs[0].data).toHaveLength(15);
  });

  it('every datatype the server carries travels byte for byte, non-finite floats included', async () => {
    const inputs = DATATYPES.map((d): BinaryInput => ({ name: `in_${d}`, datatype: d, shape: [2, 3], values: ECHO_VALUES[d] }));
    const r = await infer('echo', { parameters: { binary_data_output: true } }, inputs);
    expect(r.status, r.body.toString()).toBe(200);
    for (const d of DATATYPES) {
      const out = r.json.outputs.find((o: { name: string }) => o.name === `out_${d}`);
      expect(out, d).toMatchObject({ datatype: d, shape: [2, 3] });
      expect(toBytes(d, r.binary[`out_${d}`]!), d).toEqual(toBytes(d, ECHO_VALUES[d]));
    }
  });

  it('a fixed-batch model takes its exact shape in binary', async () => {
    const x = [1.5, 2, 3, 4, 5, 6];
    const y = [10, 20, 30, -1, -2, -3];
    const r = await infer('fixed', { outputs: [{ name: 'sum', parameters: { binary_data: true } }] }, [
      { name: 'x', datatype: 'FP32', shape: [2, 3], values: x },
      { name: 'y', datatype: 'INT32', shape: [2, 3], values: y },
    ]);
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.binary['sum']).toEqual(f32(x.map((v, i) => v + y[i]!)));
  });

  it('classification results come back as BYTES in binary', async () => {
    const r = await infer('penguins', { outputs: [{ name: 'probabilities', parameters: { classification: 2, binary_data: true } }] }, [features(penguinsRows.slice(0, 2))]);
    expect(r.status).toBe(200);
    expect(r.json.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'BYTES', shape: [2, 2] });
    for (const s of r.binary['probabilities']!) expect(String(s)).toMatch(/^-?[0-9]+\.[0-9]{6}:[0-2]:(Adelie|Chinstrap|Gentoo)$/);
  });

  it('malformed framing is a 400 that says what is wrong', async () => {
    const good = binaryBody({}, [features(penguinsRows)]);
    const send = (body: Buffer, length: string) => post(url('/v2/models/penguins/infer'), body, { ...AUTH, 'inference-header-content-length': length });
    const cases: [Promise<Awaited<ReturnType<typeof post>>>, RegExp][] = [
      [send(good.body, String(good.body.length + 10)), /Inference-Header-Content-Length is \d+ but the body has only/],
      [send(good.body, 'ten'), /must be a byte count/],
      [send(good.body.subarray(0, good.body.length - 4), String(good.headerLength)), /runs past the end of the body/],
      [send(Buffer.concat([good.body, Buffer.alloc(3)]), String(good.headerLength)), /3 bytes after the header are not claimed/],
      [send(good.body, String(good.headerLength - 2)), /are not a JSON header/],
    ];
    for (const [reply, message] of cases) {
      const r = await reply;
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(message);
    }
    const wrongSize = await infer('penguins', {}, [{ name: 'features', datatype: 'FP32', shape: [2, 4], values: [1, 2, 3, 4] }]);
    expect(wrongSize.status).toBe(400);
    expect(wrongSize.json.error).toMatch(/binary data has 16 bytes but shape \[2, 4\] of FP32 needs 32/);
  });

  it('/v1/jobs takes binary inputs and, waited for, answers binary outputs', async () => {
    const { body, headerLength } = binaryBody({ model: 'penguins', version: 1, parameters: { binary_data_output: true } }, [features(penguinsRows)]);
    const r = await post(url('/v1/jobs'), body, { ...AUTH, 'inference-header-content-length': String(headerLength), prefer: 'wait=20' });
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.json).toMatchObject({ object: 'job', status: 'succeeded', version: '1' });
    const expected = await runAlone(join(repo.dir, 'penguins/1/model.onnx'), 'features', 'probabilities', penguinsRows);
    expect(r.binary['probabilities']).toEqual(expected.flat());
  });
});

describe('INT64/UINT64 past 2^53 in JSON (hashed ids, as tritonclient writes them with Python ints)', () => {
  const INT64 = [-(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n, -9007199254740993n, 1234567890123456789n, 7n];
  const UINT64 = [2n ** 64n - 1n, 2n ** 63n, 9007199254740993n, 0n, 18014398509481985n, 1n];
  const JSON_VALUES: Record<Datatype, Value[]> = { ...ECHO_VALUES, INT64, UINT64, FP16: [1.5, -2, 0, 3.25, 65504, 5], FP32: [1.5, -2, 0, 3.25, 4, 5], FP64: [0.1, -1e300, 0, 2, 3, 4] };
  /** JSON text with BigInts written as their digits (JSON.stringify cannot). */
  const jsonText = (o: unknown) => Buffer.from(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? `#big:${v}` : v)).replace(/"#big:(-?\d+)"/g, '$1'));
  const request = (values = JSON_VALUES, extra: Record<string, unknown> = {}) => ({
    ...extra,
    inputs: DATATYPES.map((d) => ({ name: `in_${d}`, datatype: d, shape: [2, 3], data: values[d] })),
  });
  /** An output's data as the answer's text has it (the digits: JSON.parse would round them on this side too). */
  const dataText = (d: 'INT64' | 'UINT64', values: bigint[]) => `"name":"out_${d}","datatype":"${d}","shape":[2,3],"data":[${values.join(',')}]`;

  it('v2 infer reads them exactly and answers them exactly: a small body, and one of over 64 kB (read by the tensor reader)', async () => {
    const padded = { ...JSON_VALUES, BYTES: JSON_VALUES.BYTES.map((s, i) => `${String(s)}${'x'.repeat(12_000 + i)}`) };
    for (const values of [JSON_VALUES, padded]) {
      const body = jsonText(request(values));
      const r = await post(url('/v2/models/echo/infer'), body, AUTH);
      expect(r.status, r.body.toString().slice(0, 300)).toBe(200);
      const text = r.body.toString();
      expect(text).toContain(dataText('INT64', INT64));
      expect(text).toContain(dataText('UINT64', UINT64));
      // and in binary, byte for byte
      const b = await post(url('/v2/models/echo/infer'), jsonText(request(values, { parameters: { binary_data_output: true } })), AUTH);
      expect(b.status).toBe(200);
      expect(toBytes('INT64', b.binary['out_INT64']!)).toEqual(toBytes('INT64', INT64));
      expect(toBytes('UINT64', b.binary['out_UINT64']!)).toEqual(toBytes('UINT64', UINT64));
    }
  });

  it('in UTF-8 after a byte order mark, and gzip-compressed (also as `gzip, identity`); in another charset a 415, compressed or not', async () => {
    const text = jsonText(request()).toString();
    // JSON is UTF-8 (RFC 8259 §8.1), as NDJSON batch lines are: one rule, whichever parser would read the body.
    for (const [body, headers] of <[Buffer, Record<string, string>][]>[
      [Buffer.from(text, 'utf16le'), { 'content-type': 'application/json; charset=utf-16le' }],
      [Buffer.from(text, 'latin1'), { 'content-type': 'application/json; charset=latin1' }],
      [gzipSync(Buffer.from(text, 'latin1')), { 'content-type': 'application/json; charset=latin1', 'content-encoding': 'gzip' }],
      [gzipSync(Buffer.from(text, 'utf16le')), { 'content-type': 'application/json; charset=utf-16', 'content-encoding': 'gzip' }],
    ]) {
      const r = await post(url('/v2/models/echo/infer'), body, { ...AUTH, ...headers });
      expect(r.status, `${JSON.stringify(headers)}: ${r.body.toString().slice(0, 200)}`).toBe(415);
      expect(r.body.toString()).toMatch(/charset=utf-8 or none/);
    }
    const bodies: [Buffer, Record<string, string>][] = [
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), { 'content-type': 'application/json' }],
      [gzipSync(Buffer.from(text)), { 'content-encoding': 'gzip' }],
      [gzipSync(Buffer.from(text)), { 'content-encoding': 'gzip, identity' }], // identity in a list is no coding
      [Buffer.from(text), { 'content-type': 'application/json; charset=UTF8' }], // the utf8 label, as some clients send it
      [gzipSync(Buffer.from(text)), { 'content-type': 'application/json; charset=utf8', 'content-encoding': 'gzip' }],
    ];
    for (const [body, headers] of bodies) {
      const r = await post(url('/v2/models/echo/infer'), body, { ...AUTH, ...headers });
      expect(r.status, `${JSON.stringify(headers)}: ${r.body.toString().slice(0, 200)}`).toBe(200);
      expect(r.body.toString()).toContain(dataText('INT64', INT64));
    }
  });

  it('in the JSON header of a binary-framed request', async () => {
    const binary: Datatype[] = DATATYPES.filter((d) => d !== 'INT64' && d !== 'UINT64');
    const bytes = binary.map((d) => toBytes(d, ECHO_VALUES[d]));
    const header = jsonText({
      parameters: { binary_data_output: true },
      inputs: DATATYPES.map((d) => (binary.includes(d)
        ? { name: `in_${d}`, datatype: d, shape: [2, 3], parameters: { binary_data_size: bytes[binary.indexOf(d)]!.length } }
        : { name: `in_${d}`, datatype: d, shape: [2, 3], data: JSON_VALUES[d] })),
    });
    const r = await post(url('/v2/models/echo/infer'), Buffer.concat([header, ...bytes]), { ...AUTH, 'inference-header-content-length': String(header.length) });
    expect(r.status, r.body.toString().slice(0, 300)).toBe(200);
    expect(toBytes('INT64', r.binary['out_INT64']!)).toEqual(toBytes('INT64', INT64));
    expect(toBytes('UINT64', r.binary['out_UINT64']!)).toEqual(toBytes('UINT64', UINT64));
  });

  it('/v1/jobs: the waited answer, the job read back, and an idempotent replay carry them exactly', async () => {
    const body = jsonText({ model: 'echo', ...request() });
    const headers = { ...AUTH, prefer: 'wait=20', 'idempotency-key': `exact-${Date.now()}` };
    const r = await post(url('/v1/jobs'), body, headers);
    expect(r.status, r.body.toString().slice(0, 300)).toBe(200);
    expect(r.body.toString()).toContain(dataText('INT64', INT64));
    const again = await post(url('/v1/jobs'), body, headers);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json.id).toBe(r.json.id);
    const read = await fetch(url(`/v1/jobs/${r.json.id}`), { headers: AUTH });
    const text = await read.text();
    expect(text).toContain(dataText('INT64', INT64));
    expect(text).toContain(dataText('UINT64', UINT64));
  });

  it('a value past the type\'s range, or past 2^53 not written in digits, is a 400 naming it', async () => {
    const over = await post(url('/v2/models/echo/infer'), jsonText(request({ ...JSON_VALUES, INT64: [2n ** 63n, 1n, 2n, 3n, 4n, 5n] })), AUTH);
    expect(over.status).toBe(400);
    expect(over.json.detail).toContain('data[0] = 9223372036854775808 is not an integer in [-9223372036854775808, 9223372036854775807]');
    const rounded = await post(url('/v2/models/echo/infer'), Buffer.from(jsonText(request()).toString().replace('-9223372036854775808', '1e17')), AUTH);
    expect(rounded.status).toBe(400);
    expect(rounded.json.detail).toContain('is past 2^53 and not written in digits');
  });
});

describe('Triton extensions over REST', () => {
  it('model configuration in Triton field names, from config.json and the ONNX signature', async () => {
    const p = await call(cluster.url, 'GET', '/v2/models/penguins/config', undefined, AUTH);
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      name: 'penguins', platform: 'onnxruntime_onnx', max_batch_size: 256, version_policy: { latest: { num_versions: 2 } },
      input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt' }, { name: 'label', data_type: 'TYPE_INT64', dims: [1], reshape: { shape: [] } }],
      dynamic_batching: { max_queue_delay_microseconds: 2000 },
      model_warmup: [
        { name: 'zeros_1', batch_size: 1, inputs: { features: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } }, count: 1 },
        { name: 'zeros_256', batch_size: 256, inputs: { features: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } }, count: 1 },
      ],
    });
    const f = await call(cluster.url, 'GET', '/v2/models/fixed/versions/1/config', undefined, AUTH);
    expect(f.body).toMatchObject({ max_batch_size: 0, input: [{ name: 'x', dims: [2, 3] }, { name: 'y', data_type: 'TYPE_INT32', dims: [2, 3] }] });
    expect(f.body.model_warmup).toEqual([{ name: 'zeros_1', batch_size: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], zero_data: true }, y: { data_type: 'TYPE_INT32', dims: [2, 3], zero_data: true } }, count: 1 }]);
    // The worker made those runs before its first job, each session its own (and the main thread's the first).
    expect(cluster.workers[0]!.log).toMatch(/"model":"penguins","version":2,"rows":\[1,256\],"ms":[\d.]+,"msg":"model warmed up"/);
    expect(cluster.workers[0]!.log).toMatch(/"model":"fixed","version":1,"rows":\[1\],"ms":[\d.]+,"msg":"model warmed up"/);
    expect(f.body).not.toHaveProperty('dynamic_batching');
    expect((await call(cluster.url, 'GET', '/v2/models/nope/config', undefined, AUTH)).body.error).toMatch(/not found/);
  });

  it('statistics count requests, rows and ONNX runs (the average formed batch shows)', async () => {
    const many = rows(11, 40, 4);
    const done = await Promise.all(many.map((r) => post(url('/v2/models/penguins/versions/1/infer'), json(penguinsJson([r])), AUTH)));
    expect(done.every((d) => d.status === 200)).toBe(true);
    await until(async () => {
      const s = await call(cluster.url, 'GET', '/v2/models/penguins/versions/1/stats', undefined, AUTH);
      const [stats] = s.body.model_stats;
      expect(stats).toMatchObject({ name: 'penguins', version: '1' });
      expect(stats.inference_stats.success.count).toBeGreaterThanOrEqual(40);
      expect(stats.inference_count).toBeGreaterThanOrEqual(40);
      expect(stats.execution_count).toBeGreaterThanOrEqual(1);
      expect(stats.execution_count).toBeLessThanOrEqual(stats.inference_count);
      expect(stats.inference_stats.queue.ns).toBeGreaterThan(0);
      expect(stats.inference_stats.compute_infer.ns).toBeGreaterThan(0);
      expect(stats.batch_stats.reduce((n: number, b: { compute_infer: { count: number } }) => n + b.compute_infer.count, 0)).toBe(stats.execution_count);
      expect(stats.last_inference).toBeGreaterThan(Date.now() - 60_000);
    });
    const all = await call(cluster.url, 'GET', '/v2/models/stats', undefined, AUTH);
    expect(all.body.model_stats.map((m: { name: string; version: string }) => `${m.name}/${m.version}`)).toEqual(
      expect.arrayContaining(['penguins/1', 'penguins/2', 'mlp/1', 'fixed/1', 'echo/1']),
    );
  });

  it('repository index, unload and load: workers follow without a restart', async () => {
    const index = await post(url('/v2/repository/index'), Buffer.alloc(0), AUTH);
    expect(index.status).toBe(200);
    expect(index.json).toEqual(expect.arrayContaining([{ name: 'penguins', version: '2', state: 'READY', reason: '' }]));

    // Loading and unloading change a model for every tenant: a tenant's key is refused, the admin key is not.
    for (const action of ['unload', 'load']) {
      const refused = await post(url(`/v2/repository/models/mlp/${action}`), Buffer.alloc(0), AUTH);
      expect(refused.status, action).toBe(403);
      expect(refused.json.error).toMatch(/a tenant key cannot load or unload a model/);
    }
    expect((await post(url('/v2/repository/models/mlp/unload'), Buffer.alloc(0))).status).toBe(401);
    const deep = await post(url('/v2/repository/index'), Buffer.from(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`), AUTH);
    expect(deep.status).toBe(400); // nesting past 64 levels, as on every route
    const unload = await post(url('/v2/repository/models/mlp/unload'), Buffer.alloc(0), ADMIN_AUTH);
    expect(unload.status, unload.body.toString()).toBe(200);
    // Unloading it again succeeds again, as Triton's does; a name never served is a 404.
    expect((await post(url('/v2/repository/models/mlp/unload'), Buffer.alloc(0), ADMIN_AUTH)).status).toBe(200);
    expect((await post(url('/v2/repository/models/nope/unload'), Buffer.alloc(0), ADMIN_AUTH)).status).toBe(404);
    const mlpInput = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32)[0] }] };
    expect((await post(url('/v2/models/mlp/infer'), json(mlpInput), AUTH)).status).toBe(404);
    const after = await post(url('/v2/repository/index'), json({ ready: false }), AUTH);
    expect(after.json).toEqual(expect.arrayContaining([{ name: 'mlp', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' }]));
    const readyOnly = await post(url('/v2/repository/index'), json({ ready: true }), AUTH);
    expect(readyOnly.json.map((e: { name: string }) => e.name)).not.toContain('mlp');
    const workers = async () => (await call(cluster.url, 'GET', '/v1/models', undefined, AUTH)).body.models as { name: string; workers: number }[];
    await until(async () => expect((await workers()).find((m) => m.name === 'mlp')).toBeUndefined());

    for (const parameters of [{ config: '{"max_batch_size": 8}' }, { 'file:1/model.onnx': 'AAAA' }]) {
      const refused = await post(url('/v2/repository/models/mlp/load'), json({ parameters }), ADMIN_AUTH);
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatch(/is not supported: a load reads the model from the repository/);
    }
    const load = await post(url('/v2/repository/models/mlp/load'), Buffer.alloc(0), ADMIN_AUTH);
    expect(load.status).toBe(200);
    // What the admin key loads it may read (one client for both, as tritonclient's is), and run nothing.
    expect((await call(cluster.url, 'GET', '/v2/models/mlp/ready', undefined, ADMIN_AUTH)).status).toBe(200);
    expect((await post(url('/v2/repository/index'), Buffer.alloc(0), ADMIN_AUTH)).status).toBe(200);
    expect((await call(cluster.url, 'GET', '/v2/models/mlp/config', undefined, ADMIN_AUTH)).status).toBe(200);
    // Elsewhere the admin key is known, and not a tenant's: a 403 that says so, not a 401 calling it wrong.
    const infer = await post(url('/v2/models/mlp/infer'), json(mlpInput), ADMIN_AUTH);
    expect(infer.status).toBe(403);
    expect(infer.json.error).toMatch(/ADMIN_KEY .* runs no job/);
    expect(infer.headers['www-authenticate']).toBeUndefined();
    expect((await call(cluster.url, 'GET', '/v1/jobs/job_x', undefined, ADMIN_AUTH)).status).toBe(403);
    expect((await call(cluster.url, 'GET', '/v1/webhooks/secret', undefined, ADMIN_AUTH)).status).toBe(403);
    // A path under /admin that nothing serves is a 404, not that 403 (a security audit found it misleading).
    for (const path of ['/admin/status', '/admin/queues/static/nope.js']) {
      expect((await call(cluster.url, 'GET', path, undefined, ADMIN_AUTH)).status, path).toBe(404);
    }
    // The load answered once a worker serves mlp as of the load: ready from then on. (It answered
    // from what a worker served before the unload, not yet applied there; mlp then read not
    // ready for half a second, until the worker had unloaded and loaded it again.)
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push((await call(cluster.url, 'GET', '/v2/models/mlp/ready', undefined, AUTH)).status);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toEqual(Array(20).fill(200));
    // As Triton's, the load answers once the model is served: ready at once (tritonclient's load_model, then is_model_ready).
    expect((await call(cluster.url, 'GET', '/v2/models/mlp/ready', undefined, AUTH)).status).toBe(200);
    expect((await workers()).find((m) => m.name === 'mlp')?.workers).toBe(1);
    expect((await post(url('/v2/models/mlp/infer'), json(mlpInput), AUTH)).status).toBe(200);
    expect((await post(url('/v2/repository/models/nope/load'), Buffer.alloc(0), ADMIN_AUTH)).status).toBe(404);
  });
});
