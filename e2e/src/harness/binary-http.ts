/**
 * A raw HTTP client for the binary tensor extension, written from Triton's description and
 * independent of the server's codec: bodies are assembled byte by byte (a DataView per
 * element), sent with node:http and no Content-Type unless asked, and responses split by
 * their Inference-Header-Content-Length.
 */
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { getFloat16, setFloat16 } from '@petamoriken/float16';

export type Datatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';
export type Value = number | boolean | string | bigint;

const SIZE: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

/** Elements → little-endian bytes (BYTES: 4-byte length + UTF-8 each). */
export function toBytes(datatype: Datatype, values: readonly Value[]): Buffer {
  if (datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const v of values) {
      const b = Buffer.from(String(v), 'utf8');
      const len = Buffer.alloc(4);
      new DataView(len.buffer, len.byteOffset).setUint32(0, b.length, true);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  const size = SIZE[datatype];
  const buf = Buffer.alloc(values.length * size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  values.forEach((v, i) => {
    const o = i * size;
    switch (datatype) {
      case 'BOOL': dv.setUint8(o, v ? 1 : 0); break;
      case 'UINT8': dv.setUint8(o, Number(v)); break;
      case 'INT8': dv.setInt8(o, Number(v)); break;
      case 'UINT16': dv.setUint16(o, Number(v), true); break;
      case 'INT16': dv.setInt16(o, Number(v), true); break;
      case 'UINT32': dv.setUint32(o, Number(v), true); break;
      case 'INT32': dv.setInt32(o, Number(v), true); break;
      case 'UINT64': dv.setBigUint64(o, BigInt(v), true); break;
      case 'INT64': dv.setBigInt64(o, BigInt(v), true); break;
      case 'FP16': setFloat16(dv, o, Number(v), true); break;
      case 'FP32': dv.setFloat32(o, Number(v), true); break;
      case 'FP64': dv.setFloat64(o, Number(v), true); break;
    }
  });
  return buf;
}

/** Little-endian bytes → elements (64-bit integers as bigint, BOOL as boolean). */
export function fromBytes(datatype: Datatype, buf: Buffer): Value[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Value[] = [];
  if (datatype === 'BYTES') {
    for (let at = 0; at < buf.length;) {
      const len = dv.getUint32(at, true);
      out.push(buf.toString('utf8', at + 4, at + 4 + len));
      at += 4 + len;
    }
    return out;
  }
  const size = SIZE[datatype];
  for (let o = 0; o < buf.length; o += size) {
    switch (datatype) {
      case 'BOOL': out.push(dv.getUint8(o) !== 0); break;
      case 'UINT8': out.push(dv.getUint8(o)); break;
      case 'INT8': out.push(dv.getInt8(o)); break;
      case 'UINT16': out.push(dv.getUint16(o, true)); break;
      case 'INT16': out.push(dv.getInt16(o, true)); break;
      case 'UINT32': out.push(dv.getUint32(o, true)); break;
      case 'INT32': out.push(dv.getInt32(o, true)); break;
      case 'UINT64': out.push(dv.getBigUint64(o, true)); break;
      case 'INT64': out.push(dv.getBigInt64(o, true)); break;
      case 'FP16': out.push(getFloat16(dv, o, true)); break;
      case 'FP32': out.push(dv.getFloat32(o, true)); break;
      case 'FP64': out.push(dv.getFloat64(o, true)); break;
    }
  }
  return out;
}

export interface BinaryInput {
  name: string;
  datatype: Datatype;
  shape: number[];
  values: Value[];
}

/** The header JSON + each input's bytes, with `binary_data_size` set per input. */
export function binaryBody(header: Record<string, unknown>, inputs: BinaryInput[]): { body: Buffer; headerLength: number } {
  const tensors = inputs.map((t) => toBytes(t.datatype, t.values));
  const json = Buffer.from(JSON.stringify({
    ...header,
    inputs: inputs.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: tensors[i]!.length } })),
  }));
  return { body: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** the body, decoded as its Content-Encoding says (as tritonclient does) */
  body: Buffer;
  /** the body's bytes as they came (compressed, when Content-Encoding names an encoding) */
  wire: Buffer;
  /** the JSON part (the whole body when not framed) */
  json: any;
  /** each binary output's elements, by name */
  binary: Record<string, Value[]>;
}

/** POSTs `body` with exactly `headers` (no Content-Type unless given). */
export function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawReply> {
  return send('POST', url, body, headers);
}

/** GETs `url` with exactly `headers` (an `Accept: application/octet-stream` read of a job, say). */
export function get(url: string, headers: Record<string, string> = {}): Promise<RawReply> {
  return send('GET', url, undefined, headers);
}

function send(method: 'GET' | 'POST', url: string, body: Buffer | undefined, headers: Record<string, string>): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        const decode = { gzip: gunzipSync, deflate: inflateSync, br: brotliDecompressSync }[String(res.headers['content-encoding'])];
        const all = decode ? decode(wire) : wire;
        const h = res.headers['inference-header-content-length'];
        const n = h === undefined ? all.length : Number(h);
        const text = all.subarray(0, n).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        const binary: Record<string, Value[]> = {};
        let at = n;
        const outputs = (json?.outputs ?? []) as { name: string; datatype: Datatype; parameters?: { binary_data_size?: number } }[];
        for (const o of outputs) {
          const size = o.parameters?.binary_data_size;
          if (size === undefined) continue;
          binary[o.name] = fromBytes(o.datatype, all.subarray(at, at + size));
          at += size;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, wire, json, binary });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
