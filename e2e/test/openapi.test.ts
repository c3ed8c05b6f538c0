/**
 * GET /openapi.json against a running cluster: every documented operation is called at least
 * once, and each answer's status is one it documents, with a documented content type and, for
 * JSON, a body valid against the documented schema (ajv, JSON Schema 2020-12, as OpenAPI 3.1);
 * for the binary tensor extension (application/octet-stream), a JSON header valid against the
 * documented `x-inference-header` schema and followed by exactly the bytes it announces. A
 * request the server accepted (2xx) must be valid against the documented request schema too.
 * A route added to the document without a call here fails the coverage check.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody, call, Cluster, eventually, post, rows, WebhookReceiver, type BinaryInput } from '../src/harness/index.js';

const KEY = 'key-alpha';
const OTHER = 'key-beta';
const ADMIN = 'admin-key-0123456789';
let cluster: Cluster;
let recv: WebhookReceiver;
let doc: any;
/** ids of alpha's objects, for the paths' {id} and {msgId} */
const ids: Record<string, string> = {};

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 1,
    // debug: every route's access line is written too (the queue board's once ended the process).
    api: { API_KEYS: `alpha:${KEY},beta:${OTHER}`, ADMIN_KEY: ADMIN, WEBHOOK_ALLOW_PRIVATE: 'true', PRIORITY_FLOOR: '50', LOG_LEVEL: 'debug' },
    worker: { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  recv = await WebhookReceiver.start();
  doc = (await call(cluster.url, 'GET', '/openapi.json', undefined, { authorization: `Bearer ${KEY}` })).body;
});
afterAll(async () => {
  await recv?.close();
  await cluster?.stop();
});

type Auth = 'tenant' | 'admin' | 'none';
interface Call {
  op: string; // "get /v1/jobs/{id}"
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  auth?: Auth;
  /** send `body` as JSON without a Content-Type (as KServe and Triton clients do) */
  bare?: boolean;
  /** send `body` as the JSON header of the binary tensor extension, with these inputs in binary */
  binary?: BinaryInput[];
  /** the status this call must get (otherwise: any documented one) */
  status?: number;
}
interface Sent {
  status: number;
  contentType: string;
  /** the JSON body (or text); for application/octet-stream, the JSON header */
  body: any;
  /** application/octet-stream: header length, whole body length, the header's length header */
  framed?: { headerLength: number; length: number; announced: string | undefined };
  /** the request's media type and JSON part, to check against the documented request body */
  request?: { type: string; json: unknown };
}

async function send(c: Call): Promise<Sent> {
  const [method] = c.op.split(' ');
  const auth = c.auth ?? 'tenant';
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (auth === 'tenant') headers['authorization'] = `Bearer ${KEY}`;
  if (auth === 'admin') headers['authorization'] = `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`;
  if (c.binary || c.bare) {
    const { body, headerLength } = c.binary ? binaryBody(c.body as Record<string, unknown>, c.binary) : { body: Buffer.from(JSON.stringify(c.body)), headerLength: undefined };
    if (headerLength !== undefined) headers['inference-header-content-length'] = String(headerLength);
    const r = await post(cluster.url + c.url, body, headers);
    const contentType = String(r.headers['content-type'] ?? '').split(';')[0]!.trim();
    const announced = r.headers['inference-header-content-length'] as string | undefined;
    return {
      status: r.status, contentType, body: r.json,
      ...(contentType === 'application/octet-stream' ? { framed: { headerLength: Number(announced), length: r.body.length, announced } } : {}),
      request: c.binary
        ? { type: 'application/octet-stream', json: JSON.parse(body.toString('utf8', 0, headerLength)) }
        : { type: 'application/json', json: c.body },
    };
  }
  const r = await call(cluster.url, method!.toUpperCase(), c.url, c.body, headers);
  const request = c.body === undefined ? undefined : { type: headers['content-type'] ?? 'application/json', json: c.body };
  const contentType = (r.headers.get('content-type') ?? '').split(';')[0]!.trim();
  // A body that is not JSON is checked as the text it is (a one-line NDJSON answer parses as JSON).
  const json = contentType === 'application/json' || contentType === 'application/problem+json';
  return { status: r.status, contentType, body: json ? r.body : r.text, ...(request ? { request } : {}) };
}

const job = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(1, 1, 32) }] };
/** mlp's input in the binary tensor extension: one row of 32 FP32 */
const binaryInput: BinaryInput[] = [{ name: 'input', datatype: 'FP32', shape: [1, 32], values: rows(1, 1, 32).flat() }];
const line = JSON.stringify({ custom_id: 'a', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(2, 1, 32) }] });

describe('GET /openapi.json', () => {
  it('documents every route, and every route answers as documented', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const tenant = (p: string, body?: unknown, headers?: Record<string, string>) => ({ body, headers, url: p });
    // the objects the calls below read
    const done = await send({ op: 'post /v1/jobs', url: '/v1/jobs', body: { ...job, webhook: recv.url }, headers: { Prefer: 'wait=20' } });
    expect(done.status).toBe(200);
    // its lines in every form a result line takes: a tensor line, a compact one, one refused (an input of 1 number, not 32)
    const lines = [line, JSON.stringify({ custom_id: 'b', inputs: { input: rows(1, 1, 32)[0] } }), JSON.stringify({ inputs: { input: [1] } })].join('\n');
    const batch = await send({ op: 'post /v1/batches', url: `/v1/batches?model=mlp&webhook=${encodeURIComponent(recv.url)}`, body: lines, headers: { 'content-type': 'application/x-ndjson' } });
    expect(batch.status).toBe(202);
    await eventually(async () => (await send({ op: 'get /v1/batches/{id}', url: `/v1/batches/${batch.body.id}` })).body.counts, (n) => n.succeeded === 2 && n.failed === 1, { what: 'the batch' });
    const jobEvents = await eventually(async () => (await send({ op: 'get /v1/jobs/{id}/webhooks', url: `/v1/jobs/${done.body.id}/webhooks` })).body.data, (d: any[]) => d.length > 0);
    const batchEvents = await eventually(async () => (await send({ op: 'get /v1/batches/{id}/webhooks', url: `/v1/batches/${batch.body.id}/webhooks` })).body.data, (d: any[]) => d.length > 0);
    await eventually(async () => (await send({ op: 'get /v2/models/{model}/ready', url: '/v2/models/mlp/ready' })).status, (s) => s === 200);
    Object.assign(ids, { job: done.body.id, batch: batch.body.id, jobMsg: jobEvents[0].id, batchMsg: batchEvents[0].id });

    const calls: Call[] = [
      { op: 'get /v2/health/live', url: '/v2/health/live', auth: 'none' },
      { op: 'get /v2/health/ready', url: '/v2/health/ready', auth: 'none' },
      { op: 'get /v2', url: '/v2' },
      { op: 'get /v2', url: '/v2', auth: 'none' },
      { op: 'get /v2/models/{model}', url: '/v2/models/mlp' },
      { op: 'get /v2/models/{model}', url: '/v2/models/nope' },
      { op: 'get /v2/models/{model}/versions/{version}', url: '/v2/models/mlp/versions/1' },
      { op: 'get /v2/models/{model}/ready', url: '/v2/models/mlp/ready' },
      { op: 'get /v2/models/{model}/ready', url: '/v2/models/penguins/ready' },
      { op: 'get /v2/models/{model}/versions/{version}/ready', url: '/v2/models/mlp/versions/1/ready' },
      { op: 'post /v2/models/{model}/infer', ...tenant('/v2/models/mlp/infer', { inputs: job.inputs }) },
      { op: 'post /v2/models/{model}/infer', ...tenant('/v2/models/mlp/infer', { inputs: [{ ...job.inputs[0], shape: [1, 3] }] }) },
      { op: 'post /v2/models/{model}/versions/{version}/infer', ...tenant('/v2/models/mlp/versions/1/infer', { inputs: job.inputs }) },
      // a priority under PRIORITY_FLOOR is reserved: a 403
      { op: 'post /v2/models/{model}/infer', ...tenant('/v2/models/mlp/infer', { parameters: { priority: 10 }, inputs: job.inputs }) },
      { op: 'post /v2/models/{model}/versions/{version}/infer', ...tenant('/v2/models/mlp/versions/1/infer', { parameters: { priority: 10 }, inputs: job.inputs }) },
      { op: 'post /v2/models/{model}/infer', url: '/v2/models/mlp/infer', body: { inputs: job.inputs }, bare: true },
      { op: 'post /v2/models/{model}/infer', url: '/v2/models/mlp/infer', body: { parameters: { binary_data_output: true } }, binary: binaryInput },
      { op: 'post /v2/models/{model}/versions/{version}/infer', url: '/v2/models/mlp/versions/1/infer', body: {}, binary: binaryInput },
      { op: 'post /v2/models/{model}/versions/{version}/infer', url: '/v2/models/mlp/versions/1/infer', body: { parameters: { binary_data_output: true } }, binary: binaryInput },
      { op: 'post /v2/models/{model}/versions/{version}/infer', url: '/v2/models/mlp/versions/9/infer', body: {}, binary: binaryInput },
      { op: 'get /v2/models/{model}/config', url: '/v2/models/mlp/config' },
      { op: 'get /v2/models/{model}/config', url: '/v2/models/penguins/config' },
      { op: 'get /v2/models/{model}/config', url: '/v2/models/nope/config' },
      { op: 'get /v2/models/{model}/versions/{version}/config', url: '/v2/models/penguins/versions/2/config' },
      { op: 'get /v2/models/{model}/versions/{version}/config', url: '/v2/models/mlp/versions/9/config' },
      { op: 'get /v2/models/stats', url: '/v2/models/stats' },
      { op: 'get /v2/models/{model}/stats', url: '/v2/models/mlp/stats' },
      { op: 'get /v2/models/{model}/stats', url: '/v2/models/nope/stats' },
      { op: 'get /v2/models/{model}/versions/{version}/stats', url: '/v2/models/mlp/versions/1/stats' },
      { op: 'post /v2/repository/index', url: '/v2/repository/index', body: {}, bare: true },
      { op: 'post /v2/repository/index', ...tenant('/v2/repository/index', { ready: true }) },
      { op: 'post /v2/repository/index', ...tenant('/v2/repository/index', { ready: 'yes' }) },
      // loading and unloading: the admin key's (a tenant key is a 403)
      { op: 'post /v2/repository/models/{model}/load', ...tenant('/v2/repository/models/mlp/load', {}), status: 403 },
      { op: 'post /v2/repository/models/{model}/load', ...tenant('/v2/repository/models/nope/load', {}), auth: 'admin' },
      { op: 'post /v2/repository/models/{model}/unload', ...tenant('/v2/repository/models/mlp/unload', { parameters: 5 }), auth: 'admin' },
      { op: 'post /v2/repository/models/{model}/unload', ...tenant('/v2/repository/models/nope/unload', {}), auth: 'admin' },
      // penguins has no worker here: unloading and loading it again disturbs no other call
      { op: 'post /v2/repository/models/{model}/unload', ...tenant('/v2/repository/models/penguins/unload', { parameters: { unload_dependents: false } }), auth: 'admin', status: 200 },
      { op: 'get /v2/models/{model}', url: '/v2/models/penguins', status: 404 },
      { op: 'post /v2/repository/models/{model}/load', url: '/v2/repository/models/penguins/load', body: {}, bare: true, auth: 'admin', status: 200 },
      { op: 'get /v2/models/{model}', url: '/v2/models/penguins', status: 200 },
      { op: 'post /v1/jobs', ...tenant('/v1/jobs', job) },
      { op: 'post /v1/jobs', ...tenant('/v1/jobs', { model: 'mlp' }) },
      { op: 'post /v1/jobs', ...tenant('/v1/jobs', { ...job, priority: 10 }) },
      { op: 'post /v1/jobs', ...tenant('/v1/jobs', 'model=mlp', { 'content-type': 'text/csv' }) },
      { op: 'post /v1/jobs', ...tenant('/v1/jobs', 'model=mlp', { 'content-type': 'text/plain' }), status: 400 }, // a client's default type: read as JSON
      { op: 'post /v1/jobs', url: '/v1/jobs', body: job, bare: true },
      { op: 'post /v1/jobs', url: '/v1/jobs', body: { model: 'mlp', parameters: { binary_data_output: true } }, binary: binaryInput, headers: { Prefer: 'wait=20' } },
      { op: 'get /v1/jobs/{id}', url: `/v1/jobs/${done.body.id}` },
      { op: 'get /v1/jobs/{id}', url: '/v1/jobs/job_nope' },
      { op: 'post /v1/jobs/{id}/cancel', url: `/v1/jobs/${done.body.id}/cancel` },
      { op: 'post /v1/batches', ...tenant('/v1/batches?model=mlp', line, { 'content-type': 'application/x-ndjson' }) },
      { op: 'post /v1/batches', ...tenant('/v1/batches?model=mlp', line, { 'content-type': 'image/png' }) },
      { op: 'get /v1/batches/{id}', url: `/v1/batches/${batch.body.id}` },
      { op: 'get /v1/batches', url: '/v1/batches?limit=1', status: 200 },
      { op: 'get /v1/batches', url: '/v1/batches?limit=0', status: 400 },
      { op: 'post /v1/batches/{id}/cancel', url: `/v1/batches/${batch.body.id}/cancel` },
      { op: 'get /v1/batches/{id}/results', url: `/v1/batches/${batch.body.id}/results` },
      { op: 'get /v1/batches/{id}/results', url: `/v1/batches/${batch.body.id}/results?output=a&output=b`, status: 400 },
      { op: 'head /v1/batches/{id}/results', url: `/v1/batches/${batch.body.id}/results`, status: 200 },
      { op: 'head /v1/batches/{id}/results', url: '/v1/batches/batch_nope/results', status: 404 },
      { op: 'get /v1/batches/{id}', url: '/v1/batches/%zz', status: 400 },
      { op: 'get /v2/models/{model}/config', url: '/v2/models/%zz/config', status: 400 },
      { op: 'get /v1/models', url: '/v1/models' },
      { op: 'get /v1/models', url: '/v1/models', auth: 'none' },
      { op: 'get /v1/models/{model}', url: '/v1/models/mlp' },
      { op: 'get /v1/webhooks/secret', url: '/v1/webhooks/secret' },
      { op: 'post /v1/webhooks/secret/rotate', url: '/v1/webhooks/secret/rotate' },
      { op: 'get /v1/jobs/{id}/webhooks', url: `/v1/jobs/${done.body.id}/webhooks` },
      { op: 'get /v1/batches/{id}/webhooks', url: `/v1/batches/${batch.body.id}/webhooks` },
      { op: 'post /v1/jobs/{id}/webhooks/{msgId}/redeliver', url: `/v1/jobs/${done.body.id}/webhooks/${jobEvents[0].id}/redeliver` },
      { op: 'post /v1/batches/{id}/webhooks/{msgId}/redeliver', url: `/v1/batches/${batch.body.id}/webhooks/${batchEvents[0].id}/redeliver` },
      { op: 'get /metrics', url: '/metrics' },
      { op: 'get /metrics', url: '/metrics', auth: 'admin', status: 200 }, // a scraper's key need not be a tenant's
      { op: 'get /openapi.json', url: '/openapi.json' },
      { op: 'get /admin', url: '/admin', auth: 'admin' },
      { op: 'get /admin', url: '/admin' }, // a tenant key never opens it
      { op: 'get /admin/status.json', url: '/admin/status.json', auth: 'admin' },
      { op: 'get /admin/queues', url: '/admin/queues', auth: 'admin' },
    ];

    const documented = Object.entries(doc.paths).flatMap(([path, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect([...new Set(calls.map((c) => c.op))].sort()).toEqual(documented.sort());

    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const valid = (schema: object, value: unknown, what: string) => {
      const validate = ajv.compile({ ...schema, components: doc.components }); // its $refs point into components
      expect(validate(value), `${what}\n${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    const seen = new Set<string>();
    for (const c of calls) {
      const [method, path] = c.op.split(' ') as [string, string];
      const op = doc.paths[path][method];
      const r = await send(c);
      const what = `${c.op} (${c.url}) → ${r.status} ${r.contentType}: ${String(JSON.stringify(r.body)).slice(0, 300)}`;
      if (c.status !== undefined) expect(r.status, what).toBe(c.status);
      const answer = op.responses[String(r.status)];
      expect(answer, `undocumented status: ${what}`).toBeDefined();
      if (method === 'head') {
        seen.add(`${c.op} ${r.status}`);
        continue; // no body to check
      }
      expect(Object.keys(answer.content), `undocumented content type: ${what}`).toContain(r.contentType);
      const media = answer.content[r.contentType];
      if (r.framed) {
        // the JSON header as documented, then exactly the bytes its binary outputs announce
        expect(Object.keys(answer.headers ?? {}), what).toContain('Inference-Header-Content-Length');
        expect(r.framed.announced, what).toMatch(/^[0-9]+$/);
        valid(media['x-inference-header'].schema, r.body, what);
        const sizes = (r.body.outputs ?? []).map((o: any) => o.parameters?.binary_data_size ?? 0) as number[];
        expect(sizes.some((n) => n > 0), what).toBe(true);
        expect(r.framed.headerLength + sizes.reduce((a, b) => a + b, 0), what).toBe(r.framed.length);
      } else if (media.schema) {
        valid(media.schema, r.body, what);
      }
      // an NDJSON answer: each line as documented (x-item-schema)
      if (media['x-item-schema']) for (const l of String(r.body).split('\n').filter(Boolean)) valid(media['x-item-schema'], JSON.parse(l), `a line of ${what}`);
      // what the server accepted, the document accepts
      if (r.request && r.status < 300) {
        const sent = op.requestBody?.content[r.request.type];
        expect(sent, `undocumented request content type: ${what}`).toBeDefined();
        const schema = r.request.type === 'application/octet-stream' ? sent['x-inference-header'].schema : sent.schema;
        if (schema) valid(schema, r.request.json, `request of ${what}`);
        if (sent['x-item-schema']) for (const l of String(r.request.json).split('\n')) valid(sent['x-item-schema'], JSON.parse(l), `a request line of ${what}`);
      }
      seen.add(`${c.op} ${r.status}`);
      seen.add(`${c.op} ${r.status} ${r.contentType}`);
    }
    // the calls reach more than the happy path
    for (const s of [
      'get /v2/models/{model} 404', 'post /v1/jobs 400', 'post /v1/jobs 415', 'get /v2 401', 'get /admin 401', 'get /v2/models/{model}/ready 503',
      'post /v2/models/{model}/infer 200 application/octet-stream', 'post /v2/models/{model}/versions/{version}/infer 200 application/json',
      'post /v2/models/{model}/versions/{version}/infer 200 application/octet-stream', 'post /v2/models/{model}/versions/{version}/infer 404',
      'post /v1/jobs 200 application/octet-stream', 'get /v2/models/{model}/config 404', 'get /v2/models/{model}/versions/{version}/config 404',
      'get /v2/models/{model}/stats 404', 'post /v2/repository/index 400', 'post /v2/repository/models/{model}/load 404',
      'post /v2/repository/models/{model}/unload 400', 'post /v2/repository/models/{model}/unload 404', 'post /v2/repository/models/{model}/unload 200',
      'post /v2/repository/models/{model}/load 200', 'post /v2/repository/models/{model}/load 403',
      'post /v2/models/{model}/infer 403', 'post /v2/models/{model}/versions/{version}/infer 403', 'post /v1/jobs 403',
    ]) {
      expect(seen, s).toContain(s);
    }
  });

  it('every route but health needs a key, /admin needs the admin key, ADMIN_KEY opens no tenant\'s route, and another tenant\'s objects are 404', async () => {
    expect(ids['job']).toBeDefined();
    const fill = (path: string) => {
      const batches = path.startsWith('/v1/batches');
      return path
        .replace('{model}', 'mlp').replace('{version}', '1')
        .replace('{id}', batches ? ids['batch']! : ids['job']!)
        .replace('{msgId}', batches ? ids['batchMsg']! : ids['jobMsg']!);
    };
    for (const [path, ops] of Object.entries(doc.paths) as [string, any][]) {
      for (const [method, op] of Object.entries(ops) as [string, any][]) {
        const url = fill(path) + (path === '/v1/batches' ? '?model=mlp' : '');
        const none = await call(cluster.url, method.toUpperCase(), url);
        if (op.security?.length === 0) {
          expect(none.status, `${method} ${path} is open`).not.toBe(401);
          continue;
        }
        expect(none.status, `${method} ${path} without a key`).toBe(401);
        expect(none.headers.get('content-type')).toContain('application/problem+json');
        expect(none.headers.get('www-authenticate'), `${method} ${path}`).toMatch(op.security?.[0]?.admin ? /^Basic / : /^Bearer/);
        if (path.includes('{id}')) {
          const other = await call(cluster.url, method.toUpperCase(), url, undefined, { authorization: `Bearer ${OTHER}` });
          expect(other.status, `${method} ${path} with another tenant's key`).toBe(404);
        }
        if (!op.security?.[0]?.admin) {
          // ADMIN_KEY where a tenant's is needed: a documented answer (a 403 on a tenant's routes; a model read, metrics and this document open to it).
          const admin = await call(cluster.url, method.toUpperCase(), url, undefined, { authorization: `Bearer ${ADMIN}` });
          expect(Object.keys(op.responses), `${method} ${path} with ADMIN_KEY answered ${admin.status}`).toContain(String(admin.status));
          if (/^\/v1\/(jobs|batches|webhooks)/.test(path)) expect(admin.status, `${method} ${path} with ADMIN_KEY`).toBe(403);
        }
        if (op.security?.[0]?.admin) {
          const tenant = await call(cluster.url, method.toUpperCase(), url, undefined, { authorization: `Bearer ${KEY}` });
          // /admin asks for the key again (a browser's prompt); loading and unloading name the tenant key's limit
          expect(tenant.status, `${method} ${path} with a tenant key`).toBe(path.startsWith('/admin') ? 401 : 403);
        }
      }
    }
  });
});
