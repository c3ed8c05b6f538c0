import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { JobRequest, toModelStatistics } from '@maas/shared';
import { frameResponse, parseBinaryRequest } from '../binary/framing.js';
import { NDJSON_TYPES, NPY_TYPES } from '../routes/batches.js';
import { InferRequest } from '../routes/kserve.js';
import { IndexRequest, RepositoryModelRequest } from '../routes/triton.js';
import { openApiDocument } from './document.js';
import { ROUTES } from './routes.js';

const doc = openApiDocument('test') as any;
/** Compiles a schema of the document on its own: its `$ref`s point into `components`. */
const compile = (ajv: Ajv2020, schema: any) => ajv.compile({ ...schema, components: doc.components });
/** The named schema a `$ref` points to (or the schema itself). */
const deref = (schema: any) => (schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);

describe('openApiDocument', () => {
  it('is OpenAPI 3.1 with one operation per route, each with answers and a unique id', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths).flatMap((p: any) => Object.values(p)) as any[];
    expect(ops).toHaveLength(ROUTES.length + ROUTES.filter((r) => r.head).length); // and a HEAD beside the GETs that say so
    const results = doc.paths['/v1/batches/{id}/results'];
    expect(Object.keys(results.head.responses)).toEqual(Object.keys(results.get.responses).filter((s) => s !== '206' && s !== '416')); // HEAD ignores Range
    expect(results.head.parameters.map((p: { name: string }) => p.name)).not.toContain('Range');
    for (const r of Object.values(results.head.responses) as any[]) expect(r.content).toBeUndefined();
    expect(results.head.responses[200].headers).toHaveProperty('Vary');
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const o of ops) expect(Object.keys(o.responses).length).toBeGreaterThan(0);
  });

  it('names the shapes it uses more than once (components), so generated clients get Job, Batch, Problem types', () => {
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Job', 'Batch', 'Problem', 'V2Problem', 'Tensor', 'InferResponse', 'ModelMetadata']));
    expect(doc.paths['/v1/jobs/{id}'].get.responses[200].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Job' });
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const r of new Set(refs)) expect(doc.components.schemas[JSON.parse(r).split('/').pop()], r).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain('#/$defs/');
  });

  it('lists every content type a batch upload is read in, and no other, each a string (text, or bytes for .npy) a generated client can send', () => {
    const content = doc.paths['/v1/batches'].post.requestBody.content;
    expect(Object.keys(content)).toEqual([...NDJSON_TYPES, ...NPY_TYPES]);
    expect(NDJSON_TYPES).not.toContain('application/json-seq'); // RS-framed records (RFC 7464) are not lines
    for (const t of NDJSON_TYPES) expect(content[t].schema).toEqual({ type: 'string', contentMediaType: t });
    for (const t of NPY_TYPES) expect(content[t].schema).toEqual({ type: 'string', format: 'binary', contentMediaType: t });
    const results = doc.paths['/v1/batches/{id}/results'].get.responses[200].content;
    expect(results['application/x-ndjson'].schema.type).toBe('string');
    expect(results['application/x-npy'].schema).toMatchObject({ type: 'string', format: 'binary' });
  });

  it('describes what a webhook receiver gets (OpenAPI 3.1 webhooks): each event\'s body and its Standard Webhooks headers', () => {
    expect(Object.keys(doc.webhooks)).toEqual(['job.start', 'job.completed', 'batch.completed']);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const body = (type: string) => compile(ajv, doc.webhooks[type].post.requestBody.content['application/json'].schema);
    const job = { id: 'job_1', object: 'job', model: 'mlp', version: '1', status: 'running', created_at: '2026-12-05T10:00:00.000Z', started_at: '2026-12-05T10:00:00.001Z', completed_at: null, outputs: null, error: null, metrics: null, metadata: null, priority: 100, webhook: 'https://h/x', webhook_events_filter: null };
    expect(body('job.start')({ type: 'job.start', timestamp: '2026-12-05T10:00:00.001Z', data: job })).toBe(true);
    expect(body('job.start')({ type: 'job.completed', timestamp: '2026-12-05T10:00:00.001Z', data: job })).toBe(false);
    expect(body('batch.completed')({ type: 'batch.completed', timestamp: '2026-12-05T10:00:00.001Z', data: job })).toBe(false);
    for (const w of Object.values(doc.webhooks) as any[]) expect(w.post.parameters.map((p: any) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });

  it('types query parameters as what they are read as (numbers, booleans), not as the text they come in; serves its paths from where it is read', () => {
    const param = (path: string, name: string) => doc.paths[path].get.parameters.find((p: any) => p.name === name).schema;
    expect(param('/v1/jobs/{id}', 'wait')).toMatchObject({ type: 'number', minimum: 0 });
    expect(param('/v1/batches/{id}', 'wait')).toMatchObject({ type: 'number', minimum: 0 });
    expect(param('/v1/batches', 'limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
    expect(param('/v1/batches/{id}/results', 'failed')).toMatchObject({ type: 'boolean' });
    expect(doc.paths['/v1/batches'].post.parameters.find((p: any) => p.name === 'version').schema).toMatchObject({ type: 'integer', minimum: 1 });
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect((openApiDocument('test', '/ml') as any).servers).toEqual([{ url: '/ml', description: expect.any(String) }]); // PUBLIC_PATH
    expect(doc.components.schemas.Job.properties.created_at).toMatchObject({ type: 'string', format: 'date-time' });
  });

  it('leaves out the bytes-only tensor contents (BinaryData) instead of a branch nothing matches', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain('"not":{}');
    expect(text).not.toContain('x-maas-nothing');
    const data = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.properties.inputs.items.properties.data;
    expect(data).toEqual({ type: 'array', items: {} }); // unknown[] for a generated client
  });

  it('documents request bodies with the schemas that validate them', () => {
    const body = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['model', 'inputs']));
    expect(body.additionalProperties).toBe(false); // JobRequest is strict
    const ajv = new Ajv2020({ strict: false });
    const validate = compile(ajv, body);
    const ok = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: [1] }], priority: 5 };
    expect(validate(ok)).toBe(true);
    expect(JobRequest.safeParse(ok).success).toBe(true);
    for (const bad of [{ model: 'mlp' }, { ...ok, priority: 0 }, { ...ok, colour: 'red' }]) {
      expect(validate(bad)).toBe(false);
      expect(JobRequest.safeParse(bad).success).toBe(false);
    }
  });

  it('leaves health open, puts /admin behind the admin key, and every other route behind an API key', () => {
    expect(doc.paths['/v2/health/live'].get.security).toEqual([]);
    expect(doc.paths['/admin/queues'].get.security).toEqual([{ admin: [] }, { adminBearer: [] }]);
    expect(doc.paths['/v2/repository/models/{model}/load'].post.security).toEqual([{ admin: [] }, { adminBearer: [] }]);
    expect(doc.paths['/v1/jobs'].post.security).toBeUndefined();
    // what ADMIN_KEY may read beside a tenant key (http/admin-auth.ts), and nothing else
    for (const [path, method] of [['/v2/models/{model}', 'get'], ['/v2/models/{model}/versions/{version}/ready', 'get'], ['/v1/models', 'get'], ['/metrics', 'get'], ['/openapi.json', 'get'], ['/v2/repository/index', 'post']]) {
      expect(doc.paths[path!][method!].security, path).toEqual([{ apiKey: [] }, { apiKeyBasic: [] }, { adminBearer: [] }, { admin: [] }]);
    }
    for (const [path, method] of [['/v2/models/{model}/infer', 'post'], ['/v1/jobs/{id}', 'get'], ['/v1/batches', 'post'], ['/v1/webhooks/secret', 'get']]) {
      expect(doc.paths[path!][method!].security, path).toBeUndefined();
    }
    expect(doc.security).toEqual([{ apiKey: [] }, { apiKeyBasic: [] }]);
  });

  it('asks for no key in the open mode (API_KEYS unset) but on the admin key\'s routes, and on none when ADMIN_KEY is unset too', () => {
    const open = openApiDocument('test', '', { tenants: false, admin: true }) as any;
    expect(open.security).toEqual([]);
    expect(open.paths['/v1/models'].get.security).toBeUndefined();
    expect(open.paths['/admin/queues'].get.security).toEqual([{ admin: [] }, { adminBearer: [] }]);
    const wideOpen = openApiDocument('test', '', { tenants: false, admin: false }) as any;
    expect(wideOpen.paths['/admin/queues'].get.security).toEqual([]);
    expect(wideOpen.paths['/v2/repository/models/{model}/load'].post.security).toEqual([]);
    // Tenant keys without an admin key: the admin routes are closed (no key opens them); no read lists the admin key.
    const tenantsOnly = openApiDocument('test', '', { tenants: true, admin: false }) as any;
    expect(tenantsOnly.paths['/admin/queues'].get.security).toEqual([{ admin: [] }, { adminBearer: [] }]);
    expect(tenantsOnly.paths['/v2/models/{model}'].get.security).toBeUndefined();
    expect(doc.paths['/v2/models/{model}'].get.security).toContainEqual({ adminBearer: [] });
  });

  it('types each NDJSON line (x-item-schema): the upload\'s requests and the results, in their three forms', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const upload = doc.paths['/v1/batches'].post.requestBody.content;
    const results = doc.paths['/v1/batches/{id}/results'].get.responses[200].content;
    expect(upload['application/x-ndjson']['x-item-schema']).toEqual({ $ref: '#/components/schemas/BatchRequestLine' });
    expect(upload['application/x-npy']['x-item-schema']).toBeUndefined(); // bytes: no lines
    expect(results['application/x-ndjson']['x-item-schema']).toEqual({ $ref: '#/components/schemas/BatchResultLine' });
    const line = compile(ajv, upload['application/x-ndjson']['x-item-schema']);
    const result = compile(ajv, results['application/x-ndjson']['x-item-schema']);
    for (const ok of [{ custom_id: 'r1', inputs: { input: [1, 2] } }, { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 1], data: [1, 2] }] }, { custom_id: 7, inputs: {} }, { custom_id: null, inputs: {} }]) expect(line(ok), JSON.stringify(ok)).toBe(true);
    for (const bad of [{ custom_id: 'r1' }, { custom_id: 'r1', inputs: {}, model: 'mlp' }, { custom_id: 'r1', method: 'POST', url: '/v1/chat/completions', body: {} }]) expect(line(bad), JSON.stringify(bad)).toBe(false);
    for (const ok of [
      { custom_id: 'r0', outputs: { output: [0.47, 0.53] } },
      { custom_id: '3', outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 2], data: [0.47, null] }] },
      { custom_id: 'b', error: { type: 'invalid-input', message: 'line 2: …' } },
      { custom_id: 'c', error: { type: 'canceled', message: 'the batch was canceled before this line ran' } },
    ]) expect(result(ok), JSON.stringify(ok)).toBe(true);
    expect(result({ custom_id: 'b', error: { type: 'nope', message: '' } })).toBe(false);
  });

  it('describes every answer header, and marks those an answer always carries', () => {
    const post = doc.paths['/v1/jobs'].post.responses;
    expect(post[202].headers.Location).toMatchObject({ required: true, description: expect.any(String) });
    expect(post[202].headers['Preference-Applied'].required).toBeUndefined();
    expect(doc.paths['/v1/jobs/{id}'].get.responses[401].headers['WWW-Authenticate'].required).toBe(true);
    expect(doc.paths['/v1/batches/{id}/results'].get.responses[409].headers['Retry-After']).toMatchObject({ description: expect.any(String) });
    expect(doc.paths['/v1/webhooks/secret'].get.responses[200].headers['Cache-Control']).toMatchObject({ description: expect.stringContaining('no-store') });
    expect(Object.keys(doc.webhooks).map((t) => doc.webhooks[t].post.operationId)).toEqual(['webhookJobStart', 'webhookJobCompleted', 'webhookBatchCompleted']);
  });

  it('has schemas that compile', () => {
    const ajv = new Ajv2020({ strict: false });
    const compiles = (c: any) => {
      for (const s of [c.schema, c['x-inference-header']?.schema]) if (s) expect(() => compile(ajv, s)).not.toThrow();
    };
    for (const path of Object.values(doc.paths) as any[]) {
      for (const op of Object.values(path) as any[]) {
        for (const r of Object.values(op.responses) as any[]) for (const c of Object.values(r.content ?? {})) compiles(c);
        for (const c of Object.values(op.requestBody?.content ?? {})) compiles(c);
      }
    }
  }, 30_000); // hundreds of ajv compilations: ~4.5 s on a loaded 2-core machine, past the 5 s default

  const ajv = new Ajv2020({ strict: false });
  const infer = ['/v2/models/{model}/infer', '/v2/models/{model}/versions/{version}/infer'];

  it('documents the Triton extensions with the schemas the routes parse and produce', () => {
    for (const p of ['/v2/models/{model}/config', '/v2/models/{model}/versions/{version}/config', '/v2/models/stats', '/v2/models/{model}/stats', '/v2/models/{model}/versions/{version}/stats']) {
      expect(doc.paths[p].get.tags, p).toEqual(['Triton']);
    }
    const stats = compile(ajv, doc.paths['/v2/models/stats'].get.responses[200].content['application/json'].schema);
    expect(stats({ model_stats: [toModelStatistics('m', 1, { inference_count: '3' })] }), ajv.errorsText(stats.errors)).toBe(true);
    expect(stats({ model_stats: [{ name: 'm' }] })).toBe(false);

    const index = doc.paths['/v2/repository/index'].post;
    expect(index.requestBody.required).toBe(false); // Triton clients POST it empty
    const indexBody = compile(ajv, index.requestBody.content['application/json'].schema);
    for (const body of [{}, { ready: true }, { ready: 'yes' }]) expect(indexBody(body), JSON.stringify(body)).toBe(IndexRequest.safeParse(body).success);
    const entries = compile(ajv, index.responses[200].content['application/json'].schema);
    expect(entries([{ name: 'mlp', version: '1', state: 'READY', reason: '' }, { name: 'broken', state: 'UNAVAILABLE', reason: 'no versions' }])).toBe(true);
    expect(entries([{ name: 'mlp', state: 'LOADING', reason: '' }])).toBe(false);

    for (const action of ['load', 'unload']) {
      const op = doc.paths[`/v2/repository/models/{model}/${action}`].post;
      const body = compile(ajv, op.requestBody.content['application/json'].schema);
      for (const b of [{}, { parameters: { unload_dependents: true } }, { parameters: 'x' }]) expect(body(b), JSON.stringify(b)).toBe(RepositoryModelRequest.safeParse(b).success);
      expect(deref(op.responses[200].content['application/json'].schema)).toMatchObject({ type: 'object', additionalProperties: false });
      expect(op.responses[404]).toBeDefined();
    }
  });

  it('gives every /v2 problem the Open Inference Protocol `error`, and no other problem', () => {
    for (const [path, ops] of Object.entries(doc.paths) as [string, any][]) {
      for (const op of Object.values(ops) as any[]) {
        for (const r of Object.values(op.responses) as any[]) {
          const problem = deref(r.content?.['application/problem+json']?.schema);
          if (!problem) continue;
          if (path.startsWith('/v2')) expect(problem.required, path).toContain('error');
          else expect(problem.properties.error, path).toBeUndefined();
        }
      }
    }
  });

  it('offers the binary tensor extension on the inference routes, request and answer', () => {
    for (const p of [...infer, '/v1/jobs']) {
      const op = doc.paths[p].post;
      expect(op.parameters.find((x: any) => x.name === 'Inference-Header-Content-Length'), p).toMatchObject({ in: 'header', required: false });
      expect(Object.keys(op.requestBody.content), p).toEqual(['application/json', 'application/octet-stream']);
      const binary = op.requestBody.content['application/octet-stream'];
      expect(binary.schema).toEqual({ type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' });
      expect(Object.keys(op.responses[200].content), p).toEqual(['application/json', 'application/octet-stream']);
      expect(op.responses[200].headers['Inference-Header-Content-Length'], p).toBeDefined();
    }
    // the header of a framed request: the route's own schema, with data given way to binary_data_size
    const op = doc.paths[infer[0]!].post;
    const header = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] };
    const json = Buffer.from(JSON.stringify(header));
    const body = Buffer.concat([json, Buffer.from(new Float32Array([1, 2]).buffer)]);
    const framedHeader = compile(ajv, op.requestBody.content['application/octet-stream']['x-inference-header'].schema);
    expect(framedHeader(header), ajv.errorsText(framedHeader.errors)).toBe(true);
    expect(framedHeader({ ...header, inputs: [] })).toBe(false);
    expect(InferRequest.safeParse(parseBinaryRequest(body, json.byteLength)).success).toBe(true);
    const plain = compile(ajv, op.requestBody.content['application/json'].schema);
    expect(plain(header)).toBe(false); // in JSON, data is required
    // the header of a framed answer, as frameResponse writes it
    const doc200 = { model_name: 'm', model_version: '1', id: 'r', outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: [1, 2] }, { name: 'z', datatype: 'INT64' as const, shape: [1], data: [3] }] };
    const framed = frameResponse(doc200, (name) => name === 'y');
    const answer = JSON.parse(Buffer.concat(framed.pieces).toString('utf8', 0, framed.headerLength));
    const answerHeader = compile(ajv, op.responses[200].content['application/octet-stream']['x-inference-header'].schema);
    expect(answerHeader(answer), ajv.errorsText(answerHeader.errors)).toBe(true);
    const plainAnswer = compile(ajv, op.responses[200].content['application/json'].schema);
    expect(plainAnswer(answer)).toBe(false);
    expect(plainAnswer(doc200)).toBe(true);
  });
});
