import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { BinaryData } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { charsetRefusal, inferBody, parseJsonBytes, readsAsJson, readsTensorJson, refuseCharset } from './infer-body.js';
import { MAX_JSON_CONTAINERS } from './json-bounds.js';

const req = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers }) as unknown as IncomingMessage;

describe('readsAsJson', () => {
  it('reads JSON content types on any route', () => {
    expect(readsAsJson(req('POST', '/v1/batches', { 'content-type': 'application/json; charset=utf-8' }))).toBe(true);
    expect(readsAsJson(req('POST', '/x', { 'content-type': 'application/merge-patch+json' }))).toBe(true);
    expect(readsAsJson(req('POST', '/v1/jobs', { 'content-type': 'text/csv' }))).toBe(false);
  });
  it("reads a client's default type (curl -d, urllib: form-urlencoded; fetch of a string: text/plain) as JSON on the inference and repository routes only, as Triton reads any body", () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain;charset=UTF-8', 'TEXT/PLAIN']) {
      for (const url of ['/v2/models/m/infer', '/v1/jobs', '/v2/repository/index', '/v2/repository/models/m/load']) expect(readsAsJson(req('POST', url, { 'content-type': type })), `${type} ${url}`).toBe(true);
      for (const url of ['/v1/batches', '/v1/jobs/job_1/cancel', '/v1/webhooks/secret/rotate']) expect(readsAsJson(req('POST', url, { 'content-type': type })), `${type} ${url}`).toBe(false);
    }
    expect(readsAsJson(req('POST', '/v2/models/m/infer', { 'content-type': 'text/plainx' }))).toBe(false);
  });
  it('reads a body without Content-Type as JSON on the inference routes only', () => {
    for (const url of ['/v2/models/m/infer', '/v2/models/m/versions/2/infer', '/v1/jobs', '/v1/jobs?x=1', '/v2/repository/index', '/v2/repository/models/m/load']) expect(readsAsJson(req('POST', url)), url).toBe(true);
    for (const url of ['/v1/batches', '/v1/jobs/job_1/cancel', '/v2/models/m/inferx']) expect(readsAsJson(req('POST', url)), url).toBe(false);
  });
  it('reads the route as express does: a target in absolute form, letters in any case', () => {
    for (const url of ['http://localhost:8080/v2/models/m/infer', 'http://h/v1/jobs?x=1', '/V1/Jobs', '/v2/MODELS/m/INFER']) expect(readsAsJson(req('POST', url)), url).toBe(true);
    expect(readsAsJson(req('POST', 'http://h/v1/batches'))).toBe(false);
  });
  it('never reads a binary-framed body as JSON', () => {
    expect(readsAsJson(req('POST', '/v2/models/m/infer', { 'content-type': 'application/json', 'inference-header-content-length': '10' }))).toBe(false);
  });
});

describe('charsetRefusal and refuseCharset', () => {
  it('takes UTF-8, by its name or none, and refuses every other charset with a 415', () => {
    for (const type of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/x-ndjson; charset="UTF-8"', 'application/json; charset=UTF8']) {
      expect(charsetRefusal(type, 'JSON is'), String(type)).toBeUndefined();
    }
    for (const charset of ['utf-16', 'utf-16le', 'UTF-16BE', 'latin1', 'iso-8859-1', 'shift_jis', 'nope']) {
      expect(charsetRefusal(`application/json; charset=${charset}`, 'JSON is'), charset).toMatchObject({
        type: 'unsupported-media-type', status: 415, detail: expect.stringMatching(new RegExp(`^JSON is UTF-8 .*got charset=${charset.toLowerCase()}`)),
      });
    }
  });

  it('refuses a JSON body in another charset before it is read, compressed or not; leaves other bodies to their routes', () => {
    const step = (headers: Record<string, string>, url = '/v1/jobs') => {
      let got: unknown = 'not called';
      refuseCharset(req('POST', url, headers) as never, {} as never, (err?: unknown) => (got = err));
      return got;
    };
    expect(step({ 'content-type': 'application/json; charset=utf-16' })).toMatchObject({ status: 415 });
    expect(step({ 'content-type': 'application/json; charset=latin1', 'content-encoding': 'gzip' })).toMatchObject({ status: 415 });
    expect(step({ 'content-type': 'application/json; charset=utf-8' })).toBeUndefined();
    expect(step({})).toBeUndefined();
    // NDJSON and .npy uploads are their route's (routes/batches.ts)
    expect(step({ 'content-type': 'application/x-ndjson; charset=utf-16' }, '/v1/batches')).toBeUndefined();
  });
});

describe('readsTensorJson', () => {
  const big = { 'content-length': String(64 * 1024) };
  it('takes large, plain, UTF-8 JSON bodies of the inference routes', () => {
    for (const url of ['/v2/models/m/infer', '/v2/models/m/versions/2/infer', '/v1/jobs', '/v1/jobs?x=1', 'http://h/v1/jobs']) expect(readsTensorJson(req('POST', url, big)), url).toBe(true);
    expect(readsTensorJson(req('POST', '/v1/jobs', { ...big, 'content-type': 'application/json; charset=UTF-8' }))).toBe(true);
    expect(readsTensorJson(req('POST', '/v1/jobs', { ...big, 'content-encoding': 'identity' }))).toBe(true);
    expect(readsTensorJson(req('POST', '/v2/models/m/infer', { ...big, 'content-type': 'application/x-www-form-urlencoded' }))).toBe(true);
  });
  it('leaves every other body to the app-wide parser (or the binary extension)', () => {
    for (const url of ['/v1/batches', '/v2/repository/index', '/v1/jobs/job_1/cancel']) expect(readsTensorJson(req('POST', url, big)), url).toBe(false);
    for (const headers of <Record<string, string>[]>[
      { 'content-length': String(64 * 1024 - 1) },
      {},
      { ...big, 'content-encoding': 'gzip' },
      { ...big, 'content-type': 'application/json; charset=latin1' },
      { ...big, 'content-type': 'text/csv' },
      { ...big, 'content-type': 'text/plain; charset=latin1' },
      { ...big, 'idempotency-key': 'k' },
      { ...big, 'inference-header-content-length': '10' },
    ]) expect(readsTensorJson(req('POST', '/v1/jobs', headers)), JSON.stringify(headers)).toBe(false);
    expect(readsTensorJson(req('GET', '/v1/jobs', big))).toBe(false);
    expect(readsTensorJson(req('POST', 'http://h/v1/batches', big))).toBe(false);
  });
});

describe('inferBody with the app-wide parser (as app.ts wires them)', () => {
  it('reads a large FP32 body into bytes, a small one and a gzipped one by JSON.parse, to the same values', async () => {
    const app = express();
    app.use(express.json({ type: (r) => readsAsJson(r) && !readsTensorJson(r) }));
    app.post('/v1/jobs', inferBody(64 * 1024 * 1024), (r, res) => {
      const data = (r.body as { inputs: { data: unknown }[] }).inputs[0]!.data;
      const values = data instanceof BinaryData ? Array.from(new Float32Array((data.value as Uint8Array).slice().buffer)) : Array.from(Float32Array.from(data as number[]));
      res.json({ bytes: data instanceof BinaryData, values });
    });
    const server = app.listen(0);
    try {
      const port = (server.address() as AddressInfo).port;
      const send = async (n: number, zip = false) => {
        const text = JSON.stringify({ model: 'm', inputs: [{ name: 'x', shape: [n], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => Math.sin(i)) }] });
        const res = await fetch(`http://127.0.0.1:${port}/v1/jobs`, { method: 'POST', body: zip ? gzipSync(text) : text, headers: { 'content-type': 'application/json', ...(zip ? { 'content-encoding': 'gzip' } : {}) } });
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${res.status}: ${body.slice(0, 300)}`);
        return JSON.parse(body) as { bytes: boolean; values: number[] };
      };
      const large = await send(5000);
      expect(large.bytes).toBe(true);
      expect(large.values).toEqual(Array.from(Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i))));
      expect(await send(5000, true)).toEqual({ ...large, bytes: false });
      expect((await send(10)).bytes).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('parseJsonBytes: arrays and objects bounded before JSON.parse reads them', () => {
  const tooMany = `body: the JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects (send large tensors' data flat, row-major, or in the binary extension)`;
  const rows = (n: number) => new Array(n).fill('[7]').join(',');

  it("refuses them whether the byte reader or JSON.parse would read the body (a security audit: 20 million '{}' beside FP32 data were 2.9 GB)", () => {
    const bodies = {
      // FP32 data the byte reader reads, and a flood of outputs it would hand JSON.parse.
      outputs: `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[${new Array(MAX_JSON_CONTAINERS).fill('{}').join(',')}]}`,
      // Nested INT64 data (JSON.parse's): a list a row.
      nested: `{"inputs":[{"name":"x","shape":[${MAX_JSON_CONTAINERS},1],"datatype":"INT64","data":[${rows(MAX_JSON_CONTAINERS)}]}]}`,
    };
    for (const [name, body] of Object.entries(bodies)) {
      for (const tensors of [true, false]) {
        expect(() => parseJsonBytes(Buffer.from(body), tensors), `${name} ${tensors}`).toThrow(expect.objectContaining({ status: 400, message: tooMany }));
      }
    }
  });

  it('reads nested data under the bound', () => {
    const n = 100_000;
    const body = parseJsonBytes(Buffer.from(`{"inputs":[{"name":"x","shape":[${n},1],"datatype":"INT64","data":[${rows(n)}]}]}`)) as { inputs: { data: number[][] }[] };
    expect(body.inputs[0]!.data).toHaveLength(n);
  });
});
