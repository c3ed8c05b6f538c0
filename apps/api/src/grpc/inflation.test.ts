import { connect } from 'node:http2';
import { gzipSync } from 'node:zlib';
import {
  compressionAlgorithms, credentials, makeGenericClientConstructor, Server, ServerCredentials, status as Status,
  type sendUnaryData, type ServerUnaryCall, type ServiceError,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slots } from '../http/compressed-body.js';
import { bounded, hookable, inflationSlots } from './inflation.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('bounded', () => {
  /** A decompress whose calls stay open until `finish(i)`. */
  function pending() {
    const calls: { encoding: string; resolve: (b: Buffer) => void; reject: (e: unknown) => void }[] = [];
    const decompress = (_m: Buffer, encoding: string) => new Promise<Buffer>((resolve, reject) => calls.push({ encoding, resolve, reject }));
    return { calls, decompress };
  }

  it('gzip and deflate take a slot each, the others wait; identity and unknown encodings never wait', async () => {
    const { calls, decompress } = pending();
    const d = bounded(decompress, slots(2), () => false);
    void d(Buffer.alloc(5), 'identity');
    void d(Buffer.alloc(5), 'br');
    const results = [d(Buffer.alloc(5), 'gzip'), d(Buffer.alloc(5), 'deflate'), d(Buffer.alloc(5), 'gzip')];
    await tick();
    expect(calls.map((c) => c.encoding)).toEqual(['identity', 'br', 'gzip', 'deflate']);
    calls[2]!.resolve(Buffer.from('a'));
    await tick();
    expect(calls.map((c) => c.encoding)).toEqual(['identity', 'br', 'gzip', 'deflate', 'gzip']);
    // a failed decompression gives its slot back too
    calls[3]!.reject({ code: Status.RESOURCE_EXHAUSTED });
    calls[4]!.resolve(Buffer.from('c'));
    await expect(results[0]).resolves.toEqual(Buffer.from('a'));
    await expect(results[1]).rejects.toEqual({ code: Status.RESOURCE_EXHAUSTED });
    await expect(results[2]).resolves.toEqual(Buffer.from('c'));
    const again = d(Buffer.alloc(5), 'gzip');
    const again2 = d(Buffer.alloc(5), 'gzip');
    await tick();
    expect(calls).toHaveLength(7);
    calls[5]!.resolve(Buffer.from('d'));
    calls[6]!.resolve(Buffer.from('e'));
    await expect(Promise.all([again, again2])).resolves.toEqual([Buffer.from('d'), Buffer.from('e')]);
  });

  it('a call cancelled while it waits is refused (CANCELLED) without decompressing, and frees its slot', async () => {
    const { calls, decompress } = pending();
    let cancelled = false;
    const d = bounded(decompress, slots(1), () => cancelled);
    const first = d(Buffer.alloc(5), 'gzip');
    const second = d(Buffer.alloc(5), 'gzip');
    await tick();
    cancelled = true;
    calls[0]!.resolve(Buffer.from('a'));
    await first;
    await expect(second).rejects.toMatchObject({ code: Status.CANCELLED });
    expect(calls).toHaveLength(1);
    cancelled = false;
    const third = d(Buffer.alloc(5), 'gzip');
    await tick();
    calls[1]!.resolve(Buffer.from('b'));
    await expect(third).resolves.toEqual(Buffer.from('b'));
  });
});

describe('inflationSlots on a real grpc-js server', () => {
  const echo = {
    Echo: {
      path: '/test.Echo/Echo', requestStream: false, responseStream: false,
      requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
    },
  };
  let server: Server;
  let port = 0;
  /** slot entries so far, and the most held at once */
  const taken = { count: 0, held: 0, most: 0 };
  let handled = 0;

  beforeAll(async () => {
    expect(hookable()).toBe(true);
    const inner = slots(1);
    const counted = async () => {
      const release = await inner();
      taken.count++;
      taken.most = Math.max(taken.most, ++taken.held);
      return () => (taken.held--, release());
    };
    server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024, interceptors: [inflationSlots(counted)] });
    server.addService(echo, {
      Echo: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
        handled++;
        cb(null, Buffer.from(String(call.request.length)));
      },
    });
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  });
  afterAll(() => server?.forceShutdown());

  const Client = makeGenericClientConstructor(echo, 'Echo');
  const send = (client: InstanceType<typeof Client>, body: Buffer) => new Promise<string>((resolve, reject) => {
    (client as unknown as Record<string, (r: Buffer, cb: (e: ServiceError | null, r: Buffer) => void) => void>)['Echo']!(body, (e, r) => (e ? reject(e) : resolve(r.toString())));
  });

  it('an uncompressed message is read without a slot; a gzip one takes one; many at once hold one at a time', async () => {
    const plain = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    const gzip = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.default_compression_algorithm': compressionAlgorithms.gzip });
    const deflate = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.default_compression_algorithm': compressionAlgorithms.deflate });
    try {
      expect(await send(plain, Buffer.alloc(1000, 7))).toBe('1000');
      expect(taken.count).toBe(0);
      expect(await send(gzip, Buffer.alloc(1000, 7))).toBe('1000');
      expect(taken.count).toBe(1);
      const answers = await Promise.all([...Array.from({ length: 6 }, () => send(gzip, Buffer.alloc(200_000))), send(deflate, Buffer.alloc(3000, 1))]);
      expect(answers).toEqual([...Array(6).fill('200000'), '3000']);
      expect(taken.count).toBe(8);
      expect(taken.most).toBe(1);
      expect(taken.held).toBe(0);
    } finally {
      plain.close();
      gzip.close();
      deflate.close();
    }
  });

  it('a message that decompresses past the limit is RESOURCE_EXHAUSTED, never handled, and gives its slot back', async () => {
    const gzip = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.default_compression_algorithm': compressionAlgorithms.gzip });
    try {
      const before = handled;
      expect(gzipSync(Buffer.alloc(4 * 1024 * 1024)).length).toBeLessThan(1024 * 1024);
      await expect(send(gzip, Buffer.alloc(4 * 1024 * 1024))).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
      expect(handled).toBe(before);
      expect(taken.held).toBe(0);
      expect(await send(gzip, Buffer.alloc(10))).toBe('10');
    } finally {
      gzip.close();
    }
  });

  it("a corrupt or truncated compressed message is INVALID_ARGUMENT (the client's fault), not grpc-js's INTERNAL", async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      for (const body of [Buffer.from('not gzip at all'), gzipSync(Buffer.alloc(1000, 7)).subarray(0, 20)]) {
        const stream = session.request({ ':method': 'POST', ':path': '/test.Echo/Echo', 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': 'gzip' });
        const prefix = Buffer.alloc(5);
        prefix[0] = 1; // compressed
        prefix.writeUInt32BE(body.length, 1);
        stream.end(Buffer.concat([prefix, body]));
        // The status in the trailers, or in the headers of a trailers-only answer.
        const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
          let headers: Record<string, unknown> = {};
          stream.on('response', (h) => (headers = h));
          stream.on('trailers', (t) => (headers = { ...headers, ...t }));
          stream.on('close', () => resolve(headers));
          stream.on('error', reject);
          stream.resume();
        });
        expect(Number(trailers['grpc-status'])).toBe(Status.INVALID_ARGUMENT);
        expect(decodeURIComponent(String(trailers['grpc-message']))).toMatch(/gzip message is corrupt or truncated/);
      }
      expect(taken.held).toBe(0);
    } finally {
      session.close();
    }
  });
});
