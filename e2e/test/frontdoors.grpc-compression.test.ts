/**
 * Compressed gRPC messages (`grpc-encoding: gzip` / `deflate`, which Triton's server accepts):
 * a compressed ModelInfer is answered as the same uncompressed one is, and gzip bombs (61 KB
 * that inflate to 60 MB, sent at once over raw HTTP/2) are decompressed four at a time, so the
 * API's memory stays bounded however many arrive (before: sixteen took it to 1.4 GB). Real
 * redis-server, API and worker, shipped models; the API's peak RSS is read from /proc.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import { compressionAlgorithms, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Cluster, InferenceClient, rows, runAlone, SHIPPED_MODELS } from '../src/harness/index.js';

let cluster: Cluster;
const clients: InferenceClient[] = [];
beforeAll(async () => {
  cluster = await Cluster.start();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
});

const client = (algorithm?: number, options: Record<string, unknown> = {}) => {
  const c = new InferenceClient(cluster.grpcAddress, undefined, { ...(algorithm === undefined ? {} : { 'grpc.default_compression_algorithm': algorithm }), ...options });
  clients.push(c);
  return c;
};
const input = rows(11, 3, 32);
const f32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);
const mlpRequest = { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 32] }], raw_input_contents: [f32(input.flat())] };
const outputOf = (res: { raw_output_contents: Buffer[] }) => Array.from(new Float32Array(new Uint8Array(res.raw_output_contents[0]!).buffer));

/** KiB of the API process's memory: `VmHWM` (peak) or `VmRSS`. */
const memory = (field: 'VmHWM' | 'VmRSS') => {
  const text = readFileSync(`/proc/${cluster.api.child.pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)![1]) * 1024;
};

/** protobuf: field `no` as length-delimited bytes */
const varint = (n: number) => {
  const b: number[] = [];
  while (n > 127) {
    b.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  b.push(n);
  return Buffer.from(b);
};
const field = (no: number, buf: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(buf.length), buf]);
/** A gzip-compressed ModelInfer message for mlp whose raw_input_contents is `bytes` zeros, framed (compressed flag set). */
function bombFrame(bytes: number): Buffer {
  const tensor = Buffer.concat([field(1, Buffer.from('input')), field(2, Buffer.from('FP32')), Buffer.from([0x18, 1, 0x18, 32])]);
  const head = Buffer.concat([field(1, Buffer.from('mlp')), field(5, tensor), varint((7 << 3) | 2), varint(bytes)]);
  const message = gzipSync(Buffer.concat([head, Buffer.alloc(bytes)]), { level: 9 });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(1, 0);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}
/** Sends `frame` as `count` ModelInfer calls at once on one HTTP/2 connection; their grpc-status codes and messages. */
async function sendAtOnce(frame: Buffer, count: number): Promise<{ code: number; message: string }[]> {
  const session = http2.connect(`http://${cluster.grpcAddress}`);
  try {
    return await Promise.all(Array.from({ length: count }, () => new Promise<{ code: number; message: string }>((resolve, reject) => {
      const req = session.request({
        ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers',
        'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity',
      });
      let code = -1;
      let message = '';
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) {
          code = Number(h['grpc-status']);
          message = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', () => {});
      req.on('end', () => resolve({ code, message }));
      req.on('error', reject);
      req.end(frame);
    })));
  } finally {
    session.close();
  }
}

describe('compressed gRPC messages', () => {
  it('a gzip or deflate ModelInfer is answered as the uncompressed one is', async () => {
    const expected = (await runAlone(join(SHIPPED_MODELS, 'mlp/1/model.onnx'), 'input', 'output', input)).flat();
    for (const algorithm of [undefined, compressionAlgorithms.gzip, compressionAlgorithms.deflate]) {
      const res = await client(algorithm).call('ModelInfer', mlpRequest, undefined, 30_000);
      expect(res.model_name).toBe('mlp');
      const out = outputOf(res);
      expect(out).toHaveLength(expected.length);
      out.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-5));
    }
  });

  it('sixteen 60 MB gzip bombs at once are each refused, holding a bounded amount of memory', async () => {
    const frame = bombFrame(60 * 2 ** 20);
    expect(frame.length).toBeLessThan(100_000);
    const before = memory('VmHWM');
    const answers = await sendAtOnce(frame, 16);
    for (const a of answers) expect(a).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/binary data has 62914560 bytes but shape \[1, 32\] of FP32 needs 128/) });
    // four decompress at a time (each ~2×60 MB while it does): ~550 MB peak here; 1.4 GB before.
    const peak = memory('VmHWM');
    expect(peak - before, `peak ${peak / 2 ** 20} MB, ${before / 2 ** 20} MB before`).toBeLessThan(700 * 2 ** 20);
    // The API still answers, compressed or not.
    for (const algorithm of [undefined, compressionAlgorithms.gzip]) {
      expect((await client(algorithm).call('ModelInfer', mlpRequest, undefined, 30_000)).model_name).toBe('mlp');
    }
  }, 120_000);

  it('a message that decompresses past MAX_BODY_MB is RESOURCE_EXHAUSTED', async () => {
    const [answer] = await sendAtOnce(bombFrame(65 * 2 ** 20), 1);
    expect(answer).toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringMatching(/decompresses to a size larger than 67108864/) });
    // grpc-js's client compressing it (its own send limit lifted)
    const err = await client(compressionAlgorithms.gzip, { 'grpc.max_send_message_length': -1 }).call('ModelInfer', { ...mlpRequest, raw_input_contents: [Buffer.alloc(65 * 2 ** 20)] }).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
  }, 60_000);
});
