/**
 * PURE: the OpenAPI 3.1 document (`GET /openapi.json`), built from the route table. Request
 * bodies and query parameters are the zod schemas the routes parse with, converted by zod 4's
 * `z.toJSONSchema` (input side: what a client sends), so the document cannot drift from the
 * validation. Responses use the schemas in schemas.ts; errors are RFC 9457 problems.
 * The binary tensor extension is an `application/octet-stream` content whose JSON header is
 * described by `x-inference-header` (OpenAPI cannot describe a JSON prefix of a binary body);
 * an NDJSON body's line by `x-item-schema` (OpenAPI 3.2's `itemSchema`: 3.1 types no line).
 */
import type { Request } from 'express';
import { z } from 'zod';
import { PROBLEMS, problemTypeUri } from '@maas/shared';
import { HEADER_LENGTH } from '../binary/framing.js';
import { isModelRead, isOperationsRead } from '../http/admin-auth.js';
import { BINARY_TYPE, BYTES_TYPES, JSON_TYPE, ROUTES, type Framed, type Lines, type Route } from './routes.js';
import * as S from './schemas.js';

type Json = Record<string, unknown>;

/** The mark of a schema nothing in JSON matches (`BinaryData`, below). */
const NOTHING = 'x-maas-nothing';

/**
 * `schema` without the branches of its unions that nothing in JSON matches: a generator would
 * type `data: unknown[] | unknown` for `anyOf: [array, {not: {}}]`, and `unknown[]` for `[array]`.
 */
function withoutNothing(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutNothing);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    if ((k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      const kept = v.filter((b) => !(b && typeof b === 'object' && NOTHING in b)).map(withoutNothing);
      if (kept.length === 1 && typeof kept[0] === 'object') Object.assign(out, kept[0]);
      else out[k] = kept;
    } else out[k] = withoutNothing(v);
  }
  return out;
}

/**
 * The document's named schemas (`components.schemas`): the shapes registered with an `id`
 * (schemas.ts `name`) are taken out of every converted schema's `$defs` and referred to there.
 * A shape that converts differently as a request (io `input`: defaults, transforms) is kept
 * apart as `<id>Input`.
 */
class Components {
  readonly schemas: Record<string, Json> = {};
  /** each stored schema as converted, before its refs were pointed here: to tell a second conversion apart */
  private readonly converted = new Map<string, string>();

  /** `out` with its `$defs` moved here and its refs (and theirs) pointing here. */
  take(out: Json, io: 'input' | 'output'): Json {
    const defs = (out['$defs'] ?? {}) as Record<string, Json>;
    delete out['$defs'];
    const keys = new Map<string, string>();
    for (const [id, def] of Object.entries(defs)) {
      const text = JSON.stringify(def);
      const key = this.converted.get(id) === undefined || this.converted.get(id) === text ? id : `${id}${io === 'input' ? 'Input' : 'Output'}`;
      if (this.converted.has(key) && this.converted.get(key) !== text) throw new Error(`schema ${key} converts two ways`);
      this.converted.set(key, text);
      keys.set(id, key);
    }
    const pointed = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(pointed);
      if (!v || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/') ? `#/components/schemas/${keys.get(x.slice(8)) ?? x.slice(8)}` : pointed(x)]));
    };
    for (const [id, def] of Object.entries(defs)) this.schemas[keys.get(id)!] ??= pointed(def) as Json;
    return pointed(out) as Json;
  }
}

const convert = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const out = z.toJSONSchema(s, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    // The one custom type, tensor contents that came as bytes (`BinaryData`), cannot come in
    // JSON: matched by nothing, and left out of the unions it is a branch of.
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema._zod.def.type === 'custom') Object.assign(jsonSchema, { not: {}, [NOTHING]: true });
    },
  }) as Json;
  delete out['$schema']; // OpenAPI 3.1 sets the dialect once, for the whole document
  return withoutNothing(out) as Json;
};

/** Builds the document's operations, naming the registered shapes in `components`. */
class Builder {
  readonly components = new Components();

  schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
    return this.components.take(convert(s, io), io);
  }

  /**
   * What this API sends to a job's or a batch's webhook URL (OpenAPI 3.1 `webhooks`): a POST
   * of the event, signed as Standard Webhooks says. Any 2xx ends the delivery; a 410 ends it
   * too; anything else is tried again on the retry schedule (a 429's or 503's Retry-After).
   */
  webhooks(): Json {
    const event = (operationId: string, summary: string, schema: z.ZodType): Json => ({
      post: {
        summary, tags: ['Webhooks'], operationId,
        security: [], parameters: WEBHOOK_HEADERS,
        requestBody: { required: true, content: { [JSON_TYPE]: { schema: this.schemaOf(schema, 'output') } } },
        responses: {
          '2XX': { description: 'received: the delivery ends' },
          410: { description: 'gone: the delivery ends, not tried again' },
          default: { description: 'tried again on the retry schedule (Retry-After of a 429 or 503 honoured)' },
        },
      },
    });
    return {
      'job.start': event('webhookJobStart', 'job start: a worker took the job', S.JobStartEvent),
      'job.completed': event('webhookJobCompleted', 'job completed: succeeded, failed or canceled', S.JobCompletedEvent),
      'batch.completed': event('webhookBatchCompleted', 'batch completed', S.BatchEvent),
    };
  }

  /** A binary tensor extension body: opaque bytes, with the schema of its JSON header beside it. */
  framed(f: Framed, io: 'input' | 'output'): Json {
    return {
      schema: { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' },
      'x-inference-header': {
        description: `the first ${HEADER_LENGTH} bytes: JSON; then the raw bytes of each tensor with parameters.binary_data_size, in order`,
        schema: this.schemaOf(f.framed, io),
      },
    };
  }

  media(s: z.ZodType | Framed | Lines | undefined, io: 'input' | 'output', type: string): Json {
    if (s === undefined) return { schema: opaque(type) };
    if ('framed' in s) return this.framed(s, io);
    // Lines of JSON (NDJSON, or a .npy in the same body's other types): the body is text; each line is `lines`.
    if ('lines' in s) return BYTES_TYPES.has(type) ? { schema: opaque(type) } : { schema: opaque(type), 'x-item-schema': this.schemaOf(s.lines, io) };
    return { schema: this.schemaOf(s, io) };
  }

  /**
   * The query's parameters. A query string holds text, so the schemas the routes parse with
   * read numbers and booleans from strings: `route.queryTypes` says what each such parameter
   * is (a number, an integer in a range, a boolean), as a client generator should type it.
   */
  queryParams(route: Route): Json[] {
    if (!route.query) return [];
    const schema = this.schemaOf(route.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
    const names = Object.keys(schema.properties ?? {});
    for (const name of Object.keys(route.queryTypes ?? {})) if (!names.includes(name)) throw new Error(`${route.path}: queryTypes names '${name}', which its query does not read`);
    return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
      name, in: 'query', required: schema.required?.includes(name) ?? false,
      schema: route.queryTypes?.[name] ? { ...route.queryTypes[name], ...(s['description'] ? { description: s['description'] } : {}) } : s,
      ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
    }));
  }

  operation(route: Route, keys: Keys): Json {
    const responses: Json = {};
    for (const [status, a] of Object.entries(route.answers)) {
      responses[status] = {
        description: a.description,
        ...(a.content ? { content: Object.fromEntries(Object.entries(a.content).map(([type, s]) => [type, this.media(s, 'output', type)])) } : {}),
        ...(a.headers ? { headers: Object.fromEntries(a.headers.map((h) => [h, answerHeader(h, status)])) } : {}),
      };
    }
    return {
      summary: route.summary,
      operationId: `${route.method}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      tags: [route.tag],
      ...(route.open || (route.admin && adminOpen(keys)) ? { security: [] }
        : route.admin ? { security: [{ admin: [] }, { adminBearer: [] }] }
        : keys.tenants && keys.admin && adminMayRead(route) ? { security: [{ apiKey: [] }, { apiKeyBasic: [] }, { adminBearer: [] }, { admin: [] }] } : {}),
      parameters: [
        ...pathParams(route.path),
        ...this.queryParams(route),
        ...(route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: h.schema ?? { type: 'string' } })),
      ],
      ...(route.body
        ? {
            requestBody: {
              required: !route.body.optional,
              ...(route.body.description ? { description: route.body.description } : {}),
              content: {
                ...Object.fromEntries(route.body.contentTypes.map((t) => [t, this.media(route.body!.schema, 'input', t)])),
                ...(route.body.framed ? { [BINARY_TYPE]: this.framed({ framed: route.body.framed }, 'input') } : {}),
              },
            },
          }
        : {}),
      responses,
    };
  }
}

/**
 * A body that is not JSON: text (NDJSON, Prometheus, HTML), or bytes (`.npy`, the binary
 * tensor extension), which generators type as a string (or a Blob), not `unknown`.
 */
function opaque(type: string): Json {
  if (type === JSON_TYPE) return { type: 'object' };
  return BYTES_TYPES.has(type) ? { type: 'string', format: 'binary', contentMediaType: type } : { type: 'string', contentMediaType: type };
}

/** What each answer header says, and the answers that always carry it (a generated client may then type it as present). */
const ANSWER_HEADERS: Record<string, { description: string; always?: (status: string) => boolean }> = {
  'WWW-Authenticate': { description: 'the schemes a key may come in (Bearer)', always: () => true },
  'Retry-After': { description: 'seconds to wait before trying again', always: (status) => status === '429' },
  Location: { description: 'the path (with PUBLIC_PATH) of the job or batch made or named; of a redelivered event, the history its attempts show in', always: (status) => status === '200' || status === '202' },
  'Preference-Applied': { description: 'the `Prefer: wait=N` the answer honoured' },
  'Idempotent-Replayed': { description: '`true`: this Idempotency-Key named the job or batch already; its first answer is not repeated, the job or batch is read as it is' },
  'X-Job-Id': { description: 'the job that served the request; requests packed together share one (a problem\'s `job_rows` say which rows are this one\'s)', always: () => true },
  Vary: { description: 'the request headers the answer depends on (Accept)' },
  'Accept-Ranges': { description: '`bytes`: a Range may ask for a part' },
  ETag: { description: 'the answer\'s entity tag, for If-None-Match, If-Match and If-Range' },
  'Last-Modified': { description: 'when the batch completed (its results do not change after)' },
  'Content-Range': { description: 'the part sent and the whole length (`bytes N-M/L`), or the length alone for a 416 (`bytes */L`)', always: () => true },
  'Cache-Control': { description: '`no-store`: the answer holds a secret' },
  [HEADER_LENGTH]: { description: 'binary tensor extension (an application/octet-stream answer, which always has it): bytes of JSON header at the start of the body; then the outputs asked for in binary, in header order' },
};

function answerHeader(name: string, status: string): Json {
  const known = ANSWER_HEADERS[name];
  if (!known) throw new Error(`answer header ${name} has no description (ANSWER_HEADERS)`);
  return {
    description: known.description,
    ...(known.always?.(status) ? { required: true } : {}),
    schema: name === HEADER_LENGTH ? { type: 'string', pattern: '^[0-9]+$' } : { type: 'string' },
  };
}

/** Standard Webhooks' headers on every delivery (docs/webhooks.md). */
const WEBHOOK_HEADERS = [
  { name: 'webhook-id', in: 'header', required: true, description: 'the event\'s id, the same on every attempt and redelivery: dedupe on it', schema: { type: 'string' } },
  { name: 'webhook-timestamp', in: 'header', required: true, description: 'seconds since the epoch when this attempt was signed', schema: { type: 'string', pattern: '^[0-9]+$' } },
  { name: 'webhook-signature', in: 'header', required: true, description: 'space-separated `v1,<base64 HMAC-SHA256>` signatures of `id.timestamp.body`, one for each of the tenant\'s secrets still signing', schema: { type: 'string' } },
];

const pathParams = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));

/** Of a GET's answers and headers, those of a part (HEAD answers a Range with the whole answer's headers, RFC 9110 §14.2). */
const PART_ANSWERS = new Set(['206', '416']);
const PART_HEADERS = new Set(['Range', 'If-Range']);

/** A GET's HEAD: its answers, headers and all, without their bodies (nor parts: HEAD ignores Range). */
function headOperation(get: Json): Json {
  const responses = Object.fromEntries(Object.entries(get['responses'] as Record<string, Json>).filter(([status]) => !PART_ANSWERS.has(status)).map(([status, r]) => {
    const { content: _c, ...rest } = r;
    return [status, rest];
  }));
  const parameters = (get['parameters'] as Json[] | undefined)?.filter((p) => !PART_HEADERS.has(String(p['name'])));
  return {
    ...get, summary: `${String(get['summary'])}: what GET would answer, without the body`, operationId: String(get['operationId']).replace(/^get/, 'head'),
    ...(parameters ? { parameters } : {}), responses,
  };
}

/** Whether ADMIN_KEY may call `route` beside a tenant key (http/admin-auth.ts `adminReadsModels`). */
function adminMayRead(route: Route): boolean {
  const req = { method: route.method.toUpperCase(), path: route.path } as Request;
  return isModelRead(req) || isOperationsRead(req);
}

/** Which keys the API was given: `tenants`, API_KEYS is set; `admin`, ADMIN_KEY is. */
export interface Keys { tenants: boolean; admin: boolean }

/** The admin routes take every request: neither API_KEYS nor ADMIN_KEY is set (http/admin-auth.ts). */
const adminOpen = (keys: Keys): boolean => !keys.tenants && !keys.admin;

/**
 * `keys`: which keys the API was given. Without API_KEYS the API takes every request without a
 * key (open mode), and the document says so: no security on any operation but the admin key's,
 * and none on those either while ADMIN_KEY is unset too. The admin key's alternatives on the
 * reads it may make are listed only when it is set.
 */
export function openApiDocument(version: string, publicPath = '', keys: Keys = { tenants: true, admin: true }): Json {
  const paths: Record<string, Json> = {};
  const build = new Builder();
  for (const r of ROUTES) {
    (paths[r.path] ??= {})[r.method] = build.operation(r, keys);
    if (r.head) paths[r.path]!['head'] = headOperation(build.operation(r, keys));
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'maas: ONNX models as a service',
      version,
      description:
        'KServe v2 / Open Inference Protocol inference, asynchronous jobs and batches, Standard Webhooks. ' +
        'A method a served path does not take is a 405 with `Allow`; OPTIONS on a served path answers 204 with the same `Allow`. ' +
        'Browsers on the origins CORS_ORIGINS lists may call every route: their preflights are answered without a key. ' +
        'ADMIN_KEY where a tenant key is needed is a 403 (it reads models, metrics and this document only). ' +
        'Every GET also answers HEAD; a GET answer carries a weak ETag, and If-None-Match with it is a 304. ' +
        'A body sent to a route that takes none is read all the same: malformed JSON is a 400, one past MAX_BODY_MB a 413, an unknown Content-Encoding a 415. ' +
        'Answers of 1 KB or more are br-, gzip- or deflate-encoded when Accept-Encoding asks (COMPRESS_RESPONSES), .npy results never; request bodies may carry Content-Encoding. ' +
        'Answers with outputs list application/json and application/octet-stream (the binary tensor extension): the second comes only to a client that asks for it ' +
        '(`binary_data` on an output, `binary_data_output`, or an Accept that prefers it), so a generated client that never does may keep to JSON ' +
        '(openapi-fetch: createClient<paths, `${string}/json`>). A floating-point NaN or ±Infinity in a JSON answer is null. ' +
        'An NDJSON body\'s lines are typed by `x-item-schema` (OpenAPI 3.2\'s itemSchema): BatchRequestLine up, BatchResultLine down. ' +
        `Errors are RFC 9457 problems; their types: ${Object.keys(PROBLEMS).map((t) => problemTypeUri(t as keyof typeof PROBLEMS)).join(', ')}.`,
    },
    // Its paths are from the API's root: `/`, or PUBLIC_PATH behind a proxy that strips it.
    servers: [{ url: publicPath || '/', description: 'the API that served this document' }],
    security: keys.tenants ? [{ apiKey: [] }, { apiKeyBasic: [] }] : [],
    components: {
      schemas: build.components.schemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'a key from API_KEYS (none needed while API_KEYS is unset)' },
        apiKeyBasic: { type: 'http', scheme: 'basic', description: 'a key from API_KEYS as the password (any user name: tritonclient\'s BasicAuth plugin)' },
        admin: { type: 'http', scheme: 'basic', description: 'ADMIN_KEY as the password (any user name)' },
        adminBearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_KEY as a Bearer token: /admin, loading and unloading models, and the reads it may make beside tenants (models, /metrics, this document)' },
      },
    },
    paths,
    webhooks: build.webhooks(),
  };
}
