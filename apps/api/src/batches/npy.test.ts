import { describe, expect, it } from 'vitest';
import { AppError, BlockPool, ValidationError, type Signature } from '@maas/shared';
import { checkNpyHeader, npyHeader, npyRowBlocks, npyTarget, parseNpyHeader, type NpyTarget } from './npy.js';

/** An .npy file: version `major`, header dict `dict`, then `data`. */
function npy(dict: string, data: Buffer, major = 1): Buffer {
  const lenBytes = major === 1 ? 2 : 4;
  const header = Buffer.from(dict + ' '.repeat(63 - ((8 + lenBytes + dict.length) % 64)) + '\n', 'latin1');
  const len = Buffer.alloc(lenBytes);
  if (major === 1) len.writeUInt16LE(header.length);
  else len.writeUInt32LE(header.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), len, header, data]);
}
const f32 = (...v: number[]) => Buffer.from(Float32Array.from(v).buffer);
const dict = (descr: string, shape: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape}), }`;

const TARGET: NpyTarget = { name: 'input', datatype: 'FP32', rest: [3] };
async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
async function blocks(buf: Buffer, size = 7, blockRows = 2, maxRows = 100) {
  const out = [];
  for await (const b of npyRowBlocks(pieces(buf, size), TARGET, 4, blockRows, maxRows, new AppError('payload-too-large', 'too many'))) {
    out.push({ first: b.first, rows: b.rows, values: Array.from(new Float32Array(b.data.buffer, b.data.byteOffset, b.data.byteLength / 4)), rest: b.rest });
  }
  return out;
}
const failure = async (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: Error) => e);

describe('parseNpyHeader', () => {
  it('reads versions 1, 2 and 3, and waits for more bytes when the header is not all there', () => {
    for (const major of [1, 2, 3]) {
      const file = npy(dict('<f4', '5, 3'), Buffer.alloc(0), major);
      expect(parseNpyHeader(file)).toEqual({ descr: '<f4', fortranOrder: false, shape: [5, 3], dataOffset: file.length });
      expect(parseNpyHeader(file.subarray(0, file.length - 1))).toBeUndefined();
    }
    expect(parseNpyHeader(npy(dict('<f8', '7,'), Buffer.alloc(0)))!.shape).toEqual([7]);
    expect(parseNpyHeader(npy(dict('<f8', ''), Buffer.alloc(0)))!.shape).toEqual([]);
  });

  it('reads a header in double quotes, as writers other than numpy may write it (np.load reads both)', () => {
    const file = npy('{"descr": "<f4", "fortran_order": False, "shape": (5, 3)}', Buffer.alloc(0));
    expect(parseNpyHeader(file)).toEqual({ descr: '<f4', fortranOrder: false, shape: [5, 3], dataOffset: file.length });
  });

  it('refuses what is not an .npy header', () => {
    expect(() => parseNpyHeader(Buffer.from('{"inputs": {"x": [1, 2, 3]}}\n'))).toThrow(/magic string/);
    // what a numpy user sends by mistake, named: an .npz archive, a gzip'd file without its Content-Encoding
    expect(() => parseNpyHeader(Buffer.from('PK\x03\x04\x14\x00\x00\x00\x00\x00', 'latin1'))).toThrow(/an \.npz archive \(np\.savez\)/);
    expect(() => parseNpyHeader(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]))).toThrow(/gzip-compressed: send it with Content-Encoding: gzip/);
    expect(() => parseNpyHeader(npy("{'descr': '<f4'}", Buffer.alloc(0)))).toThrow(/not a descr\/fortran_order\/shape dict/);
    // a structured (record) dtype says so, not that the header is not a dict
    expect(() => parseNpyHeader(npy("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (10,), }", Buffer.alloc(0)))).toThrow(/structured \(record\) dtype/);
    expect(() => parseNpyHeader(npy(dict('<f4', 'a, 3'), Buffer.alloc(0)))).toThrow(/not a list of sizes/);
    for (const dims of ['2.0, 32', '0x2, 32', '1e3, 32', '-1, 32']) expect(() => parseNpyHeader(npy(dict('<f4', dims), Buffer.alloc(0))), dims).toThrow(/not a list of sizes/);
    const v9 = npy(dict('<f4', '1, 3'), Buffer.alloc(0));
    v9[6] = 9;
    expect(() => parseNpyHeader(v9)).toThrow(ValidationError);
  });
});

describe('npyHeader', () => {
  it('writes what parseNpyHeader reads, data 64-byte aligned', () => {
    for (const shape of [[1000000, 2], [7], [0, 3, 4]]) {
      const h = npyHeader('<f4', shape);
      expect(h.length % 64).toBe(0);
      expect(parseNpyHeader(h)).toEqual({ descr: '<f4', fortranOrder: false, shape, dataOffset: h.length });
    }
  });
});

describe('npyTarget and checkNpyHeader', () => {
  const sig = (inputs: Signature['inputs'], batchable = true) => ({ inputs, outputs: [], batchable, maxBatchSize: batchable ? 8 : 0 }) as unknown as Signature;
  it('take the single input of a batchable numeric model', () => {
    expect(npyTarget(sig([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]))).toEqual({ name: 'x', datatype: 'FP32', rest: [4] });
    expect(() => npyTarget(sig([{ name: 'a', datatype: 'FP32', shape: [-1, 1] }, { name: 'b', datatype: 'FP32', shape: [-1, 1] }]))).toThrow(/2 inputs: use NDJSON/);
    expect(() => npyTarget(sig([{ name: 'x', datatype: 'FP32', shape: [2, 3] }], false))).toThrow(/this model does not batch \(max_batch_size 0\): use NDJSON/);
    expect(() => npyTarget(sig([{ name: 's', datatype: 'BYTES', shape: [-1, 1] }]))).toThrow(/BYTES inputs cannot come from an .npy file/);
  });

  it('accept the right dtype and shape (free dimensions take any size), and say what is wrong otherwise', () => {
    const h = (descr: string, shape: number[], fortranOrder = false) => ({ descr, fortranOrder, shape, dataOffset: 128 });
    expect(checkNpyHeader(h('<f4', [10, 3]), TARGET, 4)).toBe(12);
    expect(checkNpyHeader(h('<f4', [10, 2, 5]), { name: 'x', datatype: 'FP32', rest: [-1, 5] }, 4)).toBe(40);
    expect(() => checkNpyHeader(h('<f8', [10, 3]), TARGET, 4)).toThrow(/dtype '<f8', but input 'input' is FP32: save it as '<f4'/);
    expect(() => checkNpyHeader(h('>f4', [10, 3]), TARGET, 4)).toThrow(/dtype '>f4'/);
    expect(() => checkNpyHeader(h('<f4', [10, 3], true), TARGET, 4)).toThrow(/Fortran order/);
    expect(() => checkNpyHeader(h('<f4', [10, 4]), TARGET, 4)).toThrow(/shape \(10, 4\) does not match input 'input' \(-1, 3\)/);
    // as numpy prints shapes: a 1-D one with its comma
    expect(() => checkNpyHeader(h('<f4', [5, 2]), { name: 'x', datatype: 'FP32', rest: [] }, 4)).toThrow(/shape \(5, 2\) does not match input 'x' \(-1,\)/);
    expect(() => checkNpyHeader(h('<f4', [30]), TARGET, 4)).toThrow(/does not match/);
  });
});

describe('npyRowBlocks', () => {
  const file = npy(dict('<f4', '5, 3'), f32(...Array.from({ length: 15 }, (_, i) => i)));

  it('cuts the rows into blocks, whatever the stream pieces', async () => {
    const want = [
      { first: 0, rows: 2, values: [0, 1, 2, 3, 4, 5], rest: [3] },
      { first: 2, rows: 2, values: [6, 7, 8, 9, 10, 11], rest: [3] },
      { first: 4, rows: 1, values: [12, 13, 14], rest: [3] },
    ];
    for (const size of [1, 5, 7, 64, 1000]) expect(await blocks(file, size), `pieces of ${size} bytes`).toEqual(want);
  });

  it('reads into blocks from a pool, each given back once used: the same memory, the right rows', async () => {
    const pool = new BlockPool(1 << 20);
    const seen: ArrayBufferLike[] = [];
    const got: number[][] = [];
    const rows = f32(...Array.from({ length: 24 }, (_, i) => i + 0.5));
    for await (const b of npyRowBlocks(pieces(npy(dict('<f4', '8, 3'), rows), 5), TARGET, 4, 2, 100, new Error('too many'), pool)) {
      got.push(Array.from(new Float32Array(b.data.buffer, b.data.byteOffset, 6)));
      seen.push(b.data.buffer);
      b.data.fill(0xff); // whatever the last user left in it
      pool.give(b.data);
    }
    expect(got).toEqual([0, 1, 2, 3].map((k) => Array.from({ length: 6 }, (_, i) => 6 * k + i + 0.5)));
    expect(new Set(seen).size).toBe(1);
  });

  it('an empty array gives no block', async () => {
    expect(await blocks(npy(dict('<f4', '0, 3'), Buffer.alloc(0)))).toEqual([]);
  });

  it('refuses truncated or overlong data, too many rows, and a stream that ends inside the header', async () => {
    expect((await failure(blocks(file.subarray(0, file.length - 2)))).message).toMatch(/data ends after 58 of 60 bytes/);
    expect((await failure(blocks(Buffer.concat([file, f32(1)])))).message).toMatch(/more data than its shape/);
    expect((await failure(blocks(file, 7, 2, 4))).message).toBe('too many');
    expect((await failure(blocks(file.subarray(0, 20)))).message).toMatch(/ends before its header does/);
  });

  it('refuses a BOOL byte other than 0 or 1, naming its row (numpy writes any uint8 viewed as bool; onnxruntime would run on it)', async () => {
    const bools: NpyTarget = { name: 'flags', datatype: 'BOOL', rest: [3] };
    const read = async (data: number[]) => {
      const out: number[][] = [];
      for await (const b of npyRowBlocks(pieces(npy(dict('|b1', '3, 3'), Buffer.from(data)), 4), bools, 1, 2, 100, new Error('too many'))) out.push([...b.data]);
      return out;
    };
    expect(await read([1, 0, 1, 0, 0, 1, 1, 1, 0])).toEqual([[1, 0, 1, 0, 0, 1], [1, 1, 0]]);
    const e = await failure(read([1, 0, 1, 0, 0, 1, 1, 2, 0]));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toMatch(/row 2 holds byte 2, not a BOOL \(0 or 1\)/);
  });
});
