import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { JobRequest } from '@maas/shared';
import { openApiDocument } from './document.js';
import { ROUTES } from './routes.js';

const doc = openApiDocument('test') as any;

describe('openApiDocument', () => {
  it('is OpenAPI 3.1 with one operation per route, each with answers and a unique id', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths).flatMap((p: any) => Object.values(p)) as any[];
    expect(ops).toHaveLength(ROUTES.length);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const o of ops) expect(Object.keys(o.responses).length).toBeGreaterThan(0);
  });

  it('documents request bodies with the schemas that validate them', () => {
    const body = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['model', 'inputs']));
    expect(body.additionalProperties).toBe(false); // JobRequest is strict
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(body);
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
    expect(doc.paths['/admin/queues'].get.security).toEqual([{ admin: [] }]);
    expect(doc.paths['/v1/jobs'].post.security).toBeUndefined();
    expect(doc.security).toEqual([{ apiKey: [] }]);
  });

  it('has schemas that compile', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const path of Object.values(doc.paths) as any[]) {
      for (const op of Object.values(path) as any[]) {
        for (const r of Object.values(op.responses) as any[]) {
          for (const c of Object.values(r.content) as any[]) if (c.schema) expect(() => ajv.compile(c.schema)).not.toThrow();
        }
      }
    }
  });
});
