/**
 * Triton's streaming extension (`ModelStreamInfer`), as tritonclient's `start_stream` and
 * `async_stream_infer` and perf_analyzer's `--streaming` use it: a stream of requests, one
 * response each, in the order sent, failures as `error_message` without ending the stream,
 * every output equal to a direct onnxruntime run; the key checked when the stream opens; a
 * client that cancels; and the API's stop, which answers what a stream took and ends it.
 */
import { connect } from 'node:http2';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, fromBytes, HealthClient, InferenceClient, modelRepository, PROTO_FILE, rows, runAlone, toBytes } from '../src/harness/index.js';

const KEY = 'key-a';
const ADMIN_KEY = 'admin-key-0123456789';
let cluster: Cluster;
let client: InferenceClient;
let repo: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  repo = await modelRepository();
  cluster = await Cluster.start({ models: repo.dir, api: { API_KEYS: `a:${KEY}`, ADMIN_KEY } });
  client = new InferenceClient(cluster.grpcAddress, KEY);
});
afterAll(async () => {
  client?.close();
  await cluster?.stop();
  await repo?.remove();
});

const request = (id: string, data: number[][], version = '') => ({
  model_name: 'penguins', model_version: version, id,
  inputs: [{ name: 'features', datatype: 'FP32', shape: [data.length, 4] }],
  raw_input_contents: [toBytes('FP32', data.flat())],
});
const probabilities = (res: any) => {
  const i = res.outputs.findIndex((o: { name: string }) => o.name === 'probabilities');
  return fromBytes('FP32', res.raw_output_contents[i]);
};

describe('gRPC: ModelStreamInfer', () => {
  it('answers each request in the order sent, each as onnxruntime computes it, failed ones with error_message, and ends OK', async () => {
    const sent = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, version: ['', '1', '2'][i % 3]!, data: rows(100 + i, 1 + (i % 4), 4) }));
    const requests: object[] = sent.map((s) => request(s.id, s.data, s.version));
    requests[7] = { ...requests[7]!, model_name: 'nope' };
    requests[13] = { ...requests[13]!, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 5] }] };
    const { done } = client.streamInfer(requests);
    const { responses, code } = await done;
    expect(code).toBe(status.OK);
    expect(responses.map((r) => r.infer_response.id)).toEqual(sent.map((s) => s.id));
    expect(responses[7]).toMatchObject({ error_message: expect.stringMatching(/nope/), infer_response: { model_name: 'nope', id: 's7' } });
    expect(responses[13].error_message).toMatch(/shape \[1, 5\]/);
    const reference = new Map<string, number[][]>();
    for (const v of ['1', '2']) reference.set(v, await runAlone(join(repo.dir, `penguins/${v}/model.onnx`), 'features', 'probabilities', sent.flatMap((s) => s.data)));
    let row = 0;
    for (const [i, s] of sent.entries()) {
      const first = row;
      const rowsOf = (v: string) => reference.get(v)!.slice(first, first + s.data.length).flat();
      row += s.data.length;
      if (i === 7 || i === 13) continue;
      const r = responses[i];
      expect(r.error_message, s.id).toBe('');
      expect(r.infer_response).toMatchObject({ model_name: 'penguins', model_version: s.version || '2', id: s.id });
      expect(probabilities(r.infer_response), s.id).toEqual(rowsOf(s.version || '2'));
    }
  });

  it("marks a request's response final when it asks for Triton's flag (tritonclient's enable_empty_final_response), a failed one's too, and no other", async () => {
    const final = { triton_enable_empty_final_response: { bool_param: true } };
    const { done } = client.streamInfer([
      { ...request('f1', rows(7, 2, 4)), parameters: final },
      request('plain', rows(8, 1, 4)),
      { ...request('f2', rows(9, 1, 4)), model_name: 'nope', parameters: final },
    ]);
    const { responses, code } = await done;
    expect(code).toBe(status.OK);
    const flag = (r: any) => r.infer_response.parameters?.['triton_final_response'];
    expect(responses.map((r) => r.infer_response.id)).toEqual(['f1', 'plain', 'f2']);
    expect(flag(responses[0])).toMatchObject({ bool_param: true });
    expect(probabilities(responses[0].infer_response)).toHaveLength(6); // its outputs are on it: a model that is not decoupled answers once
    expect(flag(responses[1])).toBeUndefined();
    expect(responses[2].error_message).toMatch(/nope/);
    expect(flag(responses[2])).toMatchObject({ bool_param: true });
  });

  it('answers a stream of more requests than it takes in flight (600 against 256), all in order', async () => {
    const requests = Array.from({ length: 600 }, (_, i) => request(`m${i}`, rows(1000 + i, 1, 4)));
    const { responses, code } = await client.streamInfer(requests).done;
    expect(code).toBe(status.OK);
    expect(responses.map((r) => r.infer_response.id)).toEqual(requests.map((r) => r.id));
    expect(responses.every((r) => r.error_message === '')).toBe(true);
    const reference = await runAlone(join(repo.dir, 'penguins/2/model.onnx'), 'features', 'probabilities', requests.map((_, i) => rows(1000 + i, 1, 4)[0]!));
    expect(responses.map((r) => probabilities(r.infer_response))).toEqual(reference);
  });

  it('checks the key when the stream opens: none is UNAUTHENTICATED, the admin key PERMISSION_DENIED', async () => {
    const none = await client.streamInfer([request('x', rows(1, 1, 4))], { apiKey: '' }).done;
    expect(none).toMatchObject({ code: status.UNAUTHENTICATED, responses: [] });
    const admin = await client.streamInfer([request('x', rows(1, 1, 4))], { apiKey: ADMIN_KEY }).done;
    expect(admin).toMatchObject({ code: status.PERMISSION_DENIED, responses: [] });
    expect(admin.details).toMatch(/ADMIN_KEY/);
  });

  it('answers while the client keeps the stream open, and lets a client that cancels go', async () => {
    const { stream, responses, done } = client.streamInfer([request('first', rows(3, 2, 4))], { keepOpen: true });
    for (let t = Date.now(); responses.length < 1 && Date.now() - t < 20_000;) await new Promise((r) => setTimeout(r, 20));
    expect(responses[0]).toMatchObject({ error_message: '', infer_response: { id: 'first' } });
    stream.write(request('second', rows(4, 1, 4)));
    for (let t = Date.now(); responses.length < 2 && Date.now() - t < 20_000;) await new Promise((r) => setTimeout(r, 20));
    expect(responses[1]).toMatchObject({ infer_response: { id: 'second' } });
    stream.cancel();
    expect((await done).code).toBe(status.CANCELLED);
    // the server goes on serving
    const after = await client.streamInfer([request('after', rows(5, 1, 4))]).done;
    expect(after).toMatchObject({ code: status.OK, responses: [{ error_message: '', infer_response: { id: 'after' } }] });
  });

  it('a message that cannot be decompressed, or decompresses past MAX_BODY_MB, fails alone; the stream goes on (raw HTTP/2)', async () => {
    const method = loadSync(PROTO_FILE, { keepCase: true, longs: String, defaults: true, oneofs: true })['inference.GRPCInferenceService'] as Record<string, { requestSerialize: (o: object) => Buffer; responseDeserialize: (b: Buffer) => any }>;
    const { requestSerialize, responseDeserialize } = method['ModelStreamInfer']!;
    const frame = (compressed: boolean, body: Buffer) => {
      const prefix = Buffer.alloc(5);
      prefix[0] = compressed ? 1 : 0;
      prefix.writeUInt32BE(body.length, 1);
      return Buffer.concat([prefix, body]);
    };
    const good = (id: string) => requestSerialize(request(id, rows(300, 1, 4)));
    const session = connect(`http://${cluster.grpcAddress}`);
    try {
      const stream = session.request({
        ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelStreamInfer', 'content-type': 'application/grpc', te: 'trailers',
        'grpc-encoding': 'gzip', authorization: `Bearer ${KEY}`,
      });
      stream.write(frame(false, good('a')));
      stream.write(frame(true, Buffer.from('not gzip at all')));
      stream.write(frame(true, gzipSync(good('c'))));
      stream.write(frame(true, gzipSync(Buffer.alloc(80 * 1024 * 1024)))); // 80 MB from 80 KB: past MAX_BODY_MB (64)
      stream.end(frame(false, good('e')));
      const chunks: Buffer[] = [];
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let headers: Record<string, unknown> = {};
        stream.on('response', (h) => (headers = h));
        stream.on('trailers', (t) => (headers = { ...headers, ...t }));
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('close', () => resolve(headers));
        stream.on('error', reject);
      });
      expect(Number(trailers['grpc-status'])).toBe(status.OK);
      const bytes = Buffer.concat(chunks);
      const answers: any[] = [];
      for (let at = 0; at < bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) answers.push(responseDeserialize(bytes.subarray(at + 5, at + 5 + bytes.readUInt32BE(at + 1))));
      expect(answers.map((a) => [a.infer_response?.id ?? '', a.error_message])).toEqual([
        ['a', ''],
        ['', 'the gzip message is corrupt or truncated'],
        ['c', ''],
        ['', expect.stringMatching(/decompresses to a size larger than 67108864/)],
        ['e', ''],
      ]);
    } finally {
      session.close();
    }
  });

  it('when the API stops, an open stream is answered what it took and ends UNAVAILABLE (the client had not finished), and the API exits 0 at once', async () => {
    const { responses, done } = client.streamInfer(Array.from({ length: 5 }, (_, i) => request(`open${i}`, rows(200 + i, 2, 4))), { keepOpen: true });
    for (let t = Date.now(); responses.length < 5 && Date.now() - t < 20_000;) await new Promise((r) => setTimeout(r, 20));
    expect(responses).toHaveLength(5);
    // A health Watch open too (gRPC client-side health checking keeps one): it hears NOT_SERVING and is ended.
    const health = new HealthClient(cluster.grpcAddress);
    const watch = health.watch('');
    for (let t = Date.now(); watch.statuses.length < 1 && Date.now() - t < 5000;) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    expect(await cluster.api.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 30 s SHUTDOWN_GRACE_S an open stream or Watch would hold it
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    health.close();
    const { code, details } = await done;
    expect(code).toBe(status.UNAVAILABLE);
    expect(details).toMatch(/the API is stopping: requests this stream did not answer were not taken/);
    expect(responses.map((r) => r.infer_response.id)).toEqual(['open0', 'open1', 'open2', 'open3', 'open4']);
  });
});
