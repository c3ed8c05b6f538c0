/**
 * PURE: the OpenAPI 3.1 document (`GET /openapi.json`), built from the route table. Request
 * bodies and query parameters are the zod schemas the routes parse with, converted by zod 4's
 * `z.toJSONSchema` (input side: what a client sends), so the document cannot drift from the
 * validation. Responses use the schemas in schemas.ts; errors are RFC 9457 problems.
 */
import { z } from 'zod';
import { PROBLEMS, problemTypeUri } from '@maas/shared';
import { ROUTES, type Route } from './routes.js';

type Json = Record<string, unknown>;

const schemaOf = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out['$schema']; // OpenAPI 3.1 sets the dialect once, for the whole document
  return out;
};

const pathParams = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));

function queryParams(route: Route): Json[] {
  if (!route.query) return [];
  const schema = schemaOf(route.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name, in: 'query', required: schema.required?.includes(name) ?? false, schema: s,
    ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
  }));
}

function operation(route: Route): Json {
  const responses: Json = {};
  for (const [status, a] of Object.entries(route.answers)) {
    responses[status] = {
      description: a.description,
      content: Object.fromEntries(Object.entries(a.content).map(([type, s]) => [type, s ? { schema: schemaOf(s, 'output') } : {}])),
      ...(a.headers ? { headers: Object.fromEntries(a.headers.map((h) => [h, { schema: { type: 'string' } }])) } : {}),
    };
  }
  return {
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    tags: [route.tag],
    ...(route.open ? { security: [] } : route.admin ? { security: [{ admin: [] }] } : {}),
    parameters: [
      ...pathParams(route.path),
      ...queryParams(route),
      ...(route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } })),
    ],
    ...(route.body
      ? {
          requestBody: {
            required: true,
            ...(route.body.description ? { description: route.body.description } : {}),
            content: Object.fromEntries(route.body.contentTypes.map((t) => [t, route.body!.schema ? { schema: schemaOf(route.body!.schema, 'input') } : {}])),
          },
        }
      : {}),
    responses,
  };
}

export function openApiDocument(version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) (paths[r.path] ??= {})[r.method] = operation(r);
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'maas: ONNX models as a service',
      version,
      description:
        'KServe v2 / Open Inference Protocol inference, asynchronous jobs and batches, Standard Webhooks. ' +
        `Errors are RFC 9457 problems; their types: ${Object.keys(PROBLEMS).map((t) => problemTypeUri(t as keyof typeof PROBLEMS)).join(', ')}.`,
    },
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'a key from API_KEYS (none needed while API_KEYS is unset)' },
        admin: { type: 'http', scheme: 'basic', description: 'ADMIN_KEY as the password (or as a Bearer token)' },
      },
    },
    paths,
  };
}
