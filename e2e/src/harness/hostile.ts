/**
 * fast-check arbitraries of malformed and hostile requests, for every route and body type
 * (JSON, NDJSON, .npy; identity, gzip, deflate, br, corrupt or unknown encodings). Every
 * request they make is invalid by construction (each JSON body gets at least one change that
 * no model accepts; each batch line fails alone; each .npy body's or binary-tensor body's
 * bytes disagree with its header), so whatever got queued, or answered 5xx, is a bug. Also
 * the binary tensor extension and Triton's repository routes (on models that do not exist).
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';

export interface HostileRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** what kind of request it is, for failure messages and counts */
  kind: string;
  /** an index into the batch ids seen so far, for routes that take one (`{pooled}` in path) */
  pooled?: number;
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const printable = (max: number) => fc.string({ unit: 'grapheme-ascii', maxLength: max });
const anyText = (max: number) => fc.string({ unit: 'binary', maxLength: max });
const modelArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('mlp', 'penguins', 'fixed') },
  { weight: 1, arbitrary: fc.constantFrom('nope', 'MLP', '..', 'a'.repeat(300), 'mlp%00', '%E2%82%AC', '%zz') },
);
const idArb = fc.oneof(
  fc.constantFrom('job_aaaaaaaaaaaaaaaaaaaaa', 'batch_aaaaaaaaaaaaaaaaaaaaa', '..', '%2e%2e', '%zz', '%00', 'job_', '-1', 'a'.repeat(2000)),
  fc.stringMatching(/^(job|batch)_[A-Za-z0-9_-]{1,30}$/),
  printable(40).map(encodeURIComponent),
);

/** A valid-looking job body; hostile() below always breaks it. */
const row = (n: number) => Array.from({ length: n }, (_, i) => (i % 5) * 0.25 - 0.5);
const baseJob = () => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: row(32) as unknown[] }] }) as Record<string, any>;

/** Changes that make any job or v2 infer body invalid (a JSON text; some are no JSON at all). */
const breakers: fc.Arbitrary<(j: Record<string, any>) => string>[] = [
  fc.tuple(fc.constantFrom('data', 'metadata', 'parameters', 'id', 'outputs'), fc.integer({ min: 65, max: 20_000 })).map(([where, n]) => (original) => {
    const j = structuredClone(original); // the placeholder must not stay in the job for the next breaker
    if (where === 'data') j['inputs'][0].data = '__DEEP__';
    else if (where === 'parameters') j['inputs'][0].parameters = { p: '__DEEP__' };
    else j[where] = where === 'metadata' ? { m: '__DEEP__' } : '__DEEP__';
    return JSON.stringify(j).replace('"__DEEP__"', deep(n));
  }),
  fc.tuple(fc.nat(31), fc.constantFrom('1e39', '-3.5e38', '1e400', '-1e309', '3.40283e38')).map(([i, big]) => (original) => {
    const j = structuredClone(original);
    j['inputs'][0].data = Array.isArray(j['inputs'][0].data) ? j['inputs'][0].data : row(32);
    j['inputs'][0].data[i] = '__BIG__';
    return JSON.stringify(j).replace('"__BIG__"', big);
  }),
  fc.integer({ min: 0, max: 70 }).filter((n) => n !== 32).map((n) => (j) => ((j['inputs'][0].data = row(n)), JSON.stringify(j))),
  fc.oneof(printable(20).filter((s) => s !== 'input'), fc.constant('')).map((name) => (j) => ((j['inputs'][0].name = name), JSON.stringify(j))),
  fc.constantFrom('INT32', 'FP16', 'BYTES', 'fp32', '', 'BOOL').map((dt) => (j) => ((j['inputs'][0].datatype = dt), JSON.stringify(j))),
  fc.constantFrom([32], [1, 32, 1], [-1, 32], [0, 32], [1.5, 32], [2 ** 53, 32], [], ['1', 32]).map((shape) => (j) => ((j['inputs'][0].shape = shape), JSON.stringify(j))),
  fc.jsonValue({ maxDepth: 4 }).map((v) => () => JSON.stringify(v) ?? 'null'),
  fc.tuple(fc.nat(), fc.boolean()).map(([cut, corrupt]) => (j) => {
    const text = JSON.stringify(j);
    return corrupt ? text.replace(/[,:]/, '') : text.slice(0, cut % text.length);
  }),
  anyText(200).map((s) => () => s),
  fc.constantFrom(() => '{}', () => '[]', () => '""', () => 'null', () => '{"inputs":[]}', () => '\uFEFF', () => '1e999'),
];
/** Breakers for `/v1/jobs` only (its schema is strict; v2 infer ignores unknown fields). */
const jobOnlyBreakers: fc.Arbitrary<(j: Record<string, any>) => string>[] = [
  printable(12).filter((k) => !['model', 'version', 'inputs', 'outputs', 'webhook', 'webhook_events_filter', 'priority', 'timeout_ms', 'metadata'].includes(k))
    .map((k) => (j) => ((j[k] = 1), JSON.stringify(j))),
  // (null is not among them: an optional field sent as null reads as absent, a valid request)
  fc.constantFrom(0, -1, 1.5, 1e12, '1').map((p) => (j) => ((j['priority'] = p), JSON.stringify(j))),
  fc.constantFrom(0, -5, 1e15, 'x').map((t) => (j) => ((j['timeout_ms'] = t), JSON.stringify(j))),
  fc.constantFrom('http://127.0.0.1/hook', 'ftp://x.example/', 'http://user:pw@x.example/', 'not a url', 'http://[::1]/', 'http://169.254.169.254/').map((w) => (j) => ((j['webhook'] = w), JSON.stringify(j))),
  fc.constantFrom(0, -1, 'x', 999, 1.5, '01').map((v) => (j) => ((j['version'] = v), JSON.stringify(j))),
  fc.constantFrom('nope', '', 'a'.repeat(1000)).map((m) => (j) => ((j['model'] = m), JSON.stringify(j))),
  fc.integer({ min: 8200, max: 20_000 }).map((n) => (j) => ((j['metadata'] = { big: 'x'.repeat(n) }), JSON.stringify(j))),
  fc.constantFrom([{ name: 'nope' }], [{ name: 'output', parameters: { classification: 0 } }], [{}], 'output').map((o) => (j) => ((j['outputs'] = o), JSON.stringify(j))),
];

const hostileJson = (forJobs: boolean) =>
  fc.array(fc.oneof(...breakers, ...(forJobs ? jobOnlyBreakers : [])), { minLength: 1, maxLength: 3 }).map((bs) => {
    // Each breaker's text is invalid alone; those that change the job leave it broken for the next.
    const j = baseJob();
    let text = '';
    for (const b of bs) text = b(j);
    return Buffer.from(text);
  });

/** One NDJSON line that fails alone (for any shipped model: the input is never named `features`, `x` or `y`). */
const badLine = fc.oneof(
  fc.constantFrom('', '   ', '\t', '\uFEFF', '{}', '[]', 'null', '"x"', '{"inputs":null}', '{"inputs":{}}', '{"custom_id":{},"inputs":{"input":[1]}}'),
  fc.integer({ min: 0, max: 64 }).filter((n) => n !== 32).map((n) => JSON.stringify({ custom_id: `n${n}`, inputs: { input: row(n) } })),
  fc.tuple(fc.nat(31), fc.constantFrom('1e39', '-1e39', '1e400')).map(([i, big]) => `{"inputs":{"input":[${row(32).map((v, k) => (k === i ? big : v)).join(',')}]}}`),
  fc.integer({ min: 65, max: 20_000 }).map((n) => `{"custom_id":"d","inputs":{"input":${deep(n)}}}`),
  fc.integer({ min: 65, max: 5_000 }).map((n) => `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,32],"data":${deep(n)}}]}`),
  fc.constantFrom([32], [1, 31], [0, 32], [-1, 32]).map((shape) => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape, data: row(32) }] })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
  anyText(100).map((s) => s.replace(/[\r\n]/g, ' ')),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => JSON.stringify({ custom_id: 'c'.repeat(n), inputs: { input: row(31) } })),
);
const ndjsonBody = fc
  .tuple(fc.array(badLine, { minLength: 0, maxLength: 30 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean())
  .map(([lines, eol, bom, trailing]) => Buffer.from((bom ? '\uFEFF' : '') + lines.join(eol) + (trailing ? eol : '')));

/** An `.npy` file whose data never matches its header (or no header at all). */
const npyBody = fc.oneof(
  fc.tuple(fc.constantFrom('<f4', '<f8', '|u1', '<i8', '>f4', 'O'), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), fc.boolean()).map(([descr, rows, cols, delta, fortran]) => {
    let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${rows}, ${cols}), }`;
    dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
    const len = Buffer.alloc(2);
    len.writeUInt16LE(dict.length);
    return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), len, Buffer.from(dict, 'latin1'), Buffer.alloc(Math.max(0, rows * cols * 4 + delta), 7)]);
  }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constantFrom(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0xff, 0xff]), Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0x7f])),
);

/** How a body is sent: as is, compressed, corrupt, or under an encoding no one reads. */
const encoded = (body: fc.Arbitrary<Buffer>) =>
  fc.tuple(body, fc.constantFrom('identity', 'identity', 'identity', 'gzip', 'deflate', 'br', 'corrupt-gzip', 'truncated-br', 'compress', 'gzip, br'))
    .map(([b, enc]): { body: Buffer; headers: Record<string, string> } => {
      switch (enc) {
        case 'identity': return { body: b, headers: {} };
        case 'gzip': return { body: gzipSync(b), headers: { 'content-encoding': 'gzip' } };
        case 'deflate': return { body: deflateSync(b), headers: { 'content-encoding': 'deflate' } };
        case 'br': return { body: brotliCompressSync(b), headers: { 'content-encoding': 'br' } };
        case 'corrupt-gzip': return { body: Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), b]), headers: { 'content-encoding': 'gzip' } };
        case 'truncated-br': { const c = brotliCompressSync(b); return { body: c.subarray(0, Math.max(1, c.length >> 1)), headers: { 'content-encoding': 'br' } }; }
        default: return { body: b, headers: { 'content-encoding': enc } };
      }
    });

/** Mostly the right type, so most requests reach the parsers and checks behind the type check. */
const contentType = (preferred: string) => fc.oneof(
  { weight: 4, arbitrary: fc.constant(preferred) },
  { weight: 1, arbitrary: fc.constantFrom('', 'text/plain', 'application/json; charset=latin1', 'application/x-ndjson', 'application/x-npy', 'multipart/form-data', '*/*') },
);
const extraHeaders = fc.record({
  'idempotency-key': fc.option(fc.oneof(printable(300), fc.constant('')), { nil: undefined }),
  prefer: fc.option(fc.constantFrom('wait=5', 'wait=-1', 'wait=abc', 'respond-async, wait=1e9'), { nil: undefined }),
  accept: fc.option(fc.constantFrom('application/x-npy', 'application/x-ndjson', 'text/html', '*/*', 'garbage'), { nil: undefined }),
  authorization: fc.option(fc.constantFrom('Bearer ', 'Bearer x', 'Basic abc'), { nil: undefined }),
}, { requiredKeys: [] });

const clean = (h: Record<string, string | undefined>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;

const jsonPost = (pathArb: fc.Arbitrary<string>, forJobs: boolean, kind: string) =>
  fc.tuple(pathArb, encoded(hostileJson(forJobs)), contentType('application/json'), extraHeaders).map(([path, e, ct, h]): HostileRequest => ({
    method: 'POST', path, kind, body: e.body, headers: clean({ ...h, ...e.headers, 'content-type': ct }),
  }));

const versionSegment = fc.constantFrom('', '/versions/1', '/versions/2', '/versions/0', '/versions/x', '/versions/99999999999');
const batchQuery = fc.tuple(modelArb, fc.constantFrom('', '&version=1', '&version=0', '&version=x', '&version=2'),
  fc.constantFrom('', '&webhook=http%3A%2F%2F127.0.0.1%2F', '&webhook=ftp%3A%2F%2Fx', '&webhook=%zz', '&model=mlp')).map(([m, v, w]) => `/v1/batches?model=${m}${v}${w}`);

/** GETs and body-less POSTs on every other route, with hostile ids. */
const otherRoutes = fc.oneof(
  fc.tuple(idArb, fc.constantFrom('', '?wait=1', '?wait=-1', '?wait=x', '?wait=1&wait=2')).map(([id, q]) => ({ method: 'GET', path: `/v1/jobs/${id}${q}`, kind: 'get-job' })),
  idArb.map((id) => ({ method: 'POST', path: `/v1/jobs/${id}/cancel`, kind: 'cancel-job' })),
  fc.tuple(fc.oneof(idArb, fc.nat().map((n) => `{pooled}${n}`)), fc.constantFrom('', '/results', '/results?output=nope', '/cancel', '/webhooks')).map(([id, sub]) => ({
    method: sub === '/cancel' ? 'POST' : 'GET', path: `/v1/batches/${id.startsWith('{pooled}') ? '{pooled}' : id}${sub}`, kind: `batch${sub.split('?')[0]}`,
    ...(id.startsWith('{pooled}') ? { pooled: Number(id.slice(8)) } : {}),
  })),
  fc.tuple(idArb, idArb).map(([id, msg]) => ({ method: 'POST', path: `/v1/jobs/${id}/webhooks/${msg}/redeliver`, kind: 'redeliver' })),
  fc.tuple(modelArb, versionSegment, fc.constantFrom('', '/config', '/stats')).map(([m, v, s]) => ({ method: 'GET', path: `/v2/models/${m}${v}${s}`, kind: 'v2-metadata' })),
  fc.constantFrom('/v2', '/v2/health/live', '/v2/health/ready', '/v1/models', '/v1/models/nope', '/v1/models/mlp', '/metrics', '/v1/webhooks/secret', '/openapi.json', '/v1/jobs', '/v1/batches', '/%zz', '/v1/jobs/%zz', '/'.repeat(300))
    .map((path) => ({ method: 'GET', path, kind: 'get-misc' })),
  fc.tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), fc.constantFrom('/v1/jobs', '/v1/batches', '/v2/models/mlp/infer', '/v1/models', '/metrics')).map(([method, path]) => ({ method, path, kind: `method-${method}` })),
).chain((r) => extraHeaders.map((h): HostileRequest => ({ ...r, headers: clean(h) })));

/**
 * The binary tensor extension (`Inference-Header-Content-Length`): a JSON header, then raw
 * bytes. The bytes never match what the header claims (or the length header is bad).
 */
const binaryFramed = fc.tuple(
  fc.constantFrom('/v1/jobs', '/v2/models/mlp/infer', '/v2/models/penguins/infer', '/v2/models/mlp/versions/1/infer'),
  fc.integer({ min: -8, max: 8 }).filter((d) => d !== 0),
  fc.constantFrom('exact', 'exact', 'short', 'long', 'zero', 'text', 'negative', 'huge', 'empty'),
  fc.option(fc.integer({ min: 65, max: 5000 }), { nil: undefined }),
  fc.constantFrom(undefined, 'application/octet-stream', 'application/json', 'text/plain'),
).chain(([path, delta, mode, deepN, type]) => {
  const header = {
    ...(path === '/v1/jobs' ? { model: 'mlp' } : {}),
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], parameters: { binary_data_size: 128 } }],
    ...(deepN ? { parameters: { x: '__DEEP__' } } : {}),
  };
  const json = Buffer.from(deepN ? JSON.stringify(header).replace('"__DEEP__"', deep(deepN)) : JSON.stringify(header));
  const length = { exact: json.length, short: json.length - 3, long: json.length + 1000, zero: 0, text: 'abc', negative: -1, huge: 1e20, empty: '' }[mode];
  const body = Buffer.concat([json, Buffer.alloc(Math.max(0, 128 + delta), 0x41)]);
  return fc.tuple(encoded(fc.constant(body)), extraHeaders).map(([e, h]): HostileRequest => ({
    method: 'POST', path, kind: 'binary-tensors', body: e.body,
    headers: clean({ ...h, ...e.headers, 'inference-header-content-length': String(length), ...(type ? { 'content-type': type } : {}) }),
  }));
});

/** Triton's repository routes, on models that do not exist (a real model would be unloaded). */
const repository = fc.tuple(
  fc.constantFrom('/v2/repository/index', '/v2/repository/models/nope/load', '/v2/repository/models/%zz/unload', '/v2/repository/models/../load', '/v2/repository/models/a%00/unload'),
  encoded(fc.oneof(hostileJson(false), fc.constant(Buffer.from('{"ready":"yes"}')), fc.constant(Buffer.alloc(0)))),
  contentType('application/json'),
).map(([path, e, ct]): HostileRequest => ({ method: 'POST', path, kind: 'repository', body: e.body, headers: clean({ ...e.headers, 'content-type': ct }) }));

/** Any hostile request, weighted toward the routes that take bodies. */
export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  { weight: 3, arbitrary: jsonPost(fc.constant('/v1/jobs'), true, 'job') },
  { weight: 3, arbitrary: jsonPost(fc.tuple(modelArb, versionSegment).map(([m, v]) => `/v2/models/${m}${v}/infer`), false, 'v2-infer') },
  { weight: 3, arbitrary: fc.tuple(batchQuery, encoded(ndjsonBody), contentType('application/x-ndjson'), extraHeaders).map(([path, e, ct, h]): HostileRequest => ({
    method: 'POST', path, kind: 'batch-ndjson', body: e.body, headers: clean({ ...h, ...e.headers, 'content-type': ct }),
  })) },
  { weight: 1, arbitrary: fc.tuple(batchQuery, encoded(npyBody), extraHeaders).map(([path, e, h]): HostileRequest => ({
    method: 'POST', path, kind: 'batch-npy', body: e.body, headers: clean({ ...h, ...e.headers, 'content-type': 'application/x-npy' }),
  })) },
  { weight: 1, arbitrary: binaryFramed },
  { weight: 1, arbitrary: repository },
  { weight: 3, arbitrary: otherRoutes },
);
