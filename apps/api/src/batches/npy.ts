/**
 * PURE: NumPy `.npy` batch uploads, read as a stream. An `.npy` file is a short header (magic,
 * version, a Python dict literal with `descr`, `fortran_order` and `shape`) followed by the
 * array's raw bytes in C order, so row i of an `(N, ...)` array is one fixed-size run of
 * bytes: the rows are cut into chunks without parsing a single number. This is the upload to
 * use when JSON text is the bottleneck (see the README's batch benchmark).
 *
 * Only little-endian (or single-byte) numeric dtypes of the model's input datatype, C order,
 * and a shape that matches the model's input are accepted; anything else is a 400 naming
 * what was expected. The array's first dimension is the batch: row i is result line i.
 */
import { ValidationError, type BlockPool, type Datatype, type Signature } from '@maas/shared';

/** The dtype (`descr`) that holds each datatype's values, little-endian. */
export const NPY_DESCR: Partial<Record<Datatype, string[]>> = {
  BOOL: ['|b1'],
  UINT8: ['|u1', '<u1'],
  INT8: ['|i1', '<i1'],
  UINT16: ['<u2'],
  INT16: ['<i2'],
  UINT32: ['<u4'],
  INT32: ['<i4'],
  UINT64: ['<u8'],
  INT64: ['<i8'],
  FP16: ['<f2'],
  FP32: ['<f4'],
  FP64: ['<f8'],
};

/** What a NumPy array file begins with (`\x93NUMPY`). */
export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/**
 * The header of a version 1.0 `.npy` file for `descr` and `shape`, data 64-byte aligned. (The
 * client package writes the same; it keeps no dependency on this one.)
 */
export function npyHeader(descr: string, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(dict.length);
  return Buffer.concat([NPY_MAGIC, Buffer.from([1, 0]), len, Buffer.from(dict, 'latin1')]);
}
/** A header longer than this is not a header we would accept. */
const MAX_HEADER_BYTES = 65_536;

export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** bytes before the array data */
  dataOffset: number;
}

const bad = (message: string) => new ValidationError([{ path: 'body', message: `not a usable .npy file: ${message}` }]);

/** A shape as numpy prints it: `(3,)`, `(5, 2)`, `()`. */
const pyTuple = (dims: readonly number[]): string => (dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`);

/** What bytes that are not an .npy file are, when they say: what a numpy user sends by mistake. */
function notNpy(buf: Buffer): string {
  if (buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04) {
    return "it is an .npz archive (np.savez): send one array saved with np.save (np.load(f)['x'])";
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) return 'it is gzip-compressed: send it with Content-Encoding: gzip';
  return 'it does not start with the .npy magic string';
}

/** Reads the header from the start of a file; undefined while more bytes are needed. */
export function parseNpyHeader(buf: Buffer): NpyHeader | undefined {
  if (buf.length < 10) return undefined;
  if (!buf.subarray(0, 6).equals(NPY_MAGIC)) throw bad(notNpy(buf));
  const major = buf[6]!;
  if (major < 1 || major > 3) throw bad(`format version ${major}.${buf[7]} is not supported`);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) return undefined;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (headerLen > MAX_HEADER_BYTES) throw bad(`a ${headerLen}-byte header is too long`);
  const dataOffset = 8 + lenBytes + headerLen;
  if (buf.length < dataOffset) return undefined;
  const text = buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, dataOffset);
  // A Python dict literal (numpy reads it with ast.literal_eval): keys and strings in single
  // quotes, as numpy writes them, or in double quotes, as other writers may.
  const descr = /(['"])descr\1\s*:\s*(['"])([^'"]*)\2/.exec(text)?.[3];
  const fortran = /(['"])fortran_order\1\s*:\s*(True|False)/.exec(text)?.[2];
  const shapeText = /(['"])shape\1\s*:\s*\(([^)]*)\)/.exec(text)?.[2];
  if (/(['"])descr\1\s*:\s*\[/.test(text)) throw bad("its dtype is a structured (record) dtype: save a plain numeric array, one column a field (np.lib.recfunctions.structured_to_unstructured), as '<f4' for FP32");
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`its header is not a descr/fortran_order/shape dict: ${text.trim().slice(0, 200)}`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // Digits only, as numpy writes a size: not `2.0`, `0x10` or `1e3`, which Number would read.
  if (!dims.every((d) => /^\d{1,15}$/.test(d))) throw bad(`shape (${shapeText}) is not a list of sizes`);
  const shape = dims.map(Number);
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset };
}

/** What rows of an upload must look like to feed `sig`'s single input. */
export interface NpyTarget {
  name: string;
  datatype: Datatype;
  /** the input's dimensions after the batch dimension; -1 is free */
  rest: number[];
}

/** The input an `.npy` upload feeds, or a 400 when the model cannot take one. */
export function npyTarget(sig: Signature): NpyTarget {
  const input = sig.inputs[0];
  if (sig.inputs.length !== 1 || !input) {
    throw new ValidationError([{ path: 'body', message: `an .npy upload holds one array, but this model has ${sig.inputs.length} inputs: use NDJSON` }]);
  }
  if (!sig.batchable) throw new ValidationError([{ path: 'body', message: 'this model does not batch (max_batch_size 0): use NDJSON' }]);
  if (!NPY_DESCR[input.datatype]) throw new ValidationError([{ path: 'body', message: `${input.datatype} inputs cannot come from an .npy file: use NDJSON` }]);
  return { name: input.name, datatype: input.datatype, rest: input.shape.slice(1) };
}

/** Checks the header against the target; returns the bytes of one row. */
export function checkNpyHeader(h: NpyHeader, t: NpyTarget, itemBytes: number): number {
  const want = NPY_DESCR[t.datatype]!;
  if (!want.includes(h.descr)) throw bad(`dtype '${h.descr}', but input '${t.name}' is ${t.datatype}: save it as '${want[0]}'`);
  if (h.fortranOrder) throw bad('it is in Fortran order: save it C-contiguous (np.ascontiguousarray)');
  const rest = h.shape.slice(1);
  const fits = h.shape.length === t.rest.length + 1 && rest.every((d, i) => t.rest[i] === -1 || t.rest[i] === d);
  if (!fits) throw bad(`shape ${pyTuple(h.shape)} does not match input '${t.name}' ${pyTuple([-1, ...t.rest])} (the first dimension is the rows)`);
  return rest.reduce((a, b) => a * b, 1) * itemBytes;
}

/**
 * A BOOL array's bytes are each 0 or 1, as the other binary doors check (`checkBytes`): numpy
 * writes any byte a `uint8` array held when it is viewed as `bool`, and onnxruntime runs on it
 * (`Not(2)` is 3) and hands it back.
 */
function checkBools(data: Buffer, firstRow: number, rowBytes: number): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i]! > 1) throw bad(`row ${firstRow + Math.floor(i / rowBytes)} holds byte ${data[i]}, not a BOOL (0 or 1)`);
  }
}

export interface NpyRows {
  /** index of the first row */
  first: number;
  rows: number;
  /** `rows` rows of raw bytes, C order */
  data: Buffer;
  /** the array's shape after its first dimension */
  rest: number[];
}

/**
 * The rows of an `.npy` stream in blocks of `blockRows` (the last one shorter), each block's
 * bytes copied once, into memory from `blocks` (given back by whoever has used a block up).
 * Throws a 400 (ValidationError) for a header that does not fit `target`, data shorter or
 * longer than its shape or a BOOL byte other than 0 or 1, and `tooMany` for more than `maxRows` rows.
 */
export async function* npyRowBlocks(
  stream: AsyncIterable<Buffer>, target: NpyTarget, itemBytes: number, blockRows: number, maxRows: number, tooMany: Error, blocks?: BlockPool,
): AsyncGenerator<NpyRows> {
  let head: Buffer = Buffer.alloc(0);
  let header: NpyHeader | undefined;
  let rowBytes = 0;
  let total = 0;
  let block: Buffer | undefined;
  let filled = 0;
  let next = 0; // rows handed out so far
  let blockSize = 0;
  const startBlock = () => {
    const rows = Math.min(blockRows, total - next);
    blockSize = rows * rowBytes;
    block = blocks ? Buffer.from(blocks.take(blockSize)) : Buffer.allocUnsafe(blockSize);
    filled = 0;
  };
  const take = function* (piece: Buffer): Generator<NpyRows> {
    let at = 0;
    while (at < piece.length) {
      if (next >= total) throw bad(`it holds more data than its shape ${pyTuple(header!.shape)} says`);
      if (!block) startBlock();
      const n = Math.min(blockSize - filled, piece.length - at);
      piece.copy(block!, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === blockSize) {
        const rows = blockSize / rowBytes;
        if (target.datatype === 'BOOL') checkBools(block!, next, rowBytes);
        yield { first: next, rows, data: block!, rest: header!.shape.slice(1) };
        next += rows;
        block = undefined;
      }
    }
  };
  for await (const piece of stream) {
    if (!header) {
      head = Buffer.concat([head, piece]);
      header = parseNpyHeader(head);
      if (!header) {
        if (head.length > MAX_HEADER_BYTES + 12) throw bad('no header found');
        continue;
      }
      rowBytes = checkNpyHeader(header, target, itemBytes);
      total = header.shape[0]!;
      if (total > maxRows) throw tooMany;
      if (rowBytes === 0 && total > 0) throw bad(`shape ${pyTuple(header.shape)} has rows of no values`);
      yield* take(head.subarray(header.dataOffset));
      continue;
    }
    yield* take(piece);
  }
  if (!header) throw bad('it ends before its header does');
  if (next < total) throw bad(`its data ends after ${next * rowBytes + filled} of ${total * rowBytes} bytes`);
}
