/**
 * PURE: a single-pass reader for the most common batch lines, float or integer inputs
 * (FP32, FP64, INT32, INT64: features, token ids) in either form (CONTRACT §4), straight from
 * the line's bytes into typed arrays:
 *
 *   {"custom_id": "r1", "inputs": {"input": [0.25, -1.5e-3, ...]}}                      compact, one row
 *   {"custom_id": "r1", "inputs": [{"name": "input", "datatype": "FP32", "shape": [2, 32],
 *                                   "data": [0.25, -1.5e-3, ...]}]}                      tensor form, any rows
 *
 * It decodes no text and builds no intermediate objects or number arrays, which is most of
 * an upload's cost when a million such lines come in (decoding, `JSON.parse` and packing the
 * values took about 3 µs a compact line and 3.3 a tensor-form one; this takes 0.5-0.7). It
 * accepts only what it reads exactly as `JSON.parse` and the general path would; anything else
 * (another key, an escape in a string, a numeric or null custom_id, a nested array, a wrong count or
 * shape, inputs of different rows, a tensor whose `data` comes before its `name`, or before
 * any shape when it has several rows, malformed JSON) is refused and the
 * line takes the general path, which also words any error. So the result never depends on
 * which path read a line (row-scan.test.ts and chunker.test.ts check it).
 *
 * Numbers are read by json/byte-reader.ts, exactly as `Number()` reads them (a float32's 17
 * digits included), then rounded to the input's type.
 *
 * Two entry points. `scanRow` writes a line's values where the caller says and allocates
 * nothing: an upload's chunker reads each line straight into its chunk with it.
 * `scanRowLine` returns the line's tensors, whose values share slabs (`placeFor`), each
 * line's a view of one: a typed array of its own per line (128 bytes for 32 floats) is an
 * allocation outside the heap each, which made garbage collection about a third of an NDJSON
 * upload's time. A slab goes once no view of it is left.
 */
import type { RawTensor } from '@maas/shared';
import { ByteReader, COLON, COMMA, LBRACE, LBRACKET, RBRACE, RBRACKET, textOf, type Place } from '../json/byte-reader.js';

export type { Place } from '../json/byte-reader.js';

/** The datatypes this reader takes. */
const SCAN_DATATYPES = ['FP32', 'FP64', 'INT32', 'INT64'] as const;
export type ScanDatatype = (typeof SCAN_DATATYPES)[number];
export const isScanDatatype = (datatype: string): datatype is ScanDatatype => (SCAN_DATATYPES as readonly string[]).includes(datatype);
/**
 * DATATYPE_INFO[datatype].bytes, by two comparisons of interned strings, for the chunker's hot
 * path (a field kept on each ScanInput instead measured no faster: 0.90 against 0.87 µs a line).
 */
export const valueBytes = (datatype: ScanDatatype): number => (datatype === 'FP64' || datatype === 'INT64' ? 8 : 4);

export interface ScanInput {
  name: string;
  datatype: ScanDatatype;
  shape: number[];
  /** values in one row */
  elements: number;
}

export interface ScannedLine {
  customId: string | undefined;
  /** rows of each input (1 but for a tensor-form line of several) */
  rows: number;
  inputs: RawTensor[];
  /** the compact form (else the tensor form) */
  compact: boolean;
}

/** What `scanRow` read: not a line it takes, a compact line, or a tensor-form line. */
export const NOT_READ = 0;
export const COMPACT_ROW = 1;
export const TENSOR_ROW = 2;
export type RowForm = typeof NOT_READ | typeof COMPACT_ROW | typeof TENSOR_ROW;

const SLAB_BYTES = 256 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slab32 = new Float32Array(slab);
let slab64 = new Float64Array(slab);
let slabInt = new Int32Array(slab);
let slabUsed = 0;

/**
 * Points `place` at byte `offset` of a block, in the view of it that values of `datatype` are
 * written into (integers: the Int32Array, two elements an INT64). Returns `place`.
 */
export function placeAt(place: Place, datatype: ScanDatatype, f32: Float32Array, f64: Float64Array, int: Int32Array, offset: number): Place {
  if (datatype === 'FP32') {
    place.into = f32;
    place.at = offset / 4;
  } else if (datatype === 'FP64') {
    place.into = f64;
    place.at = offset / 8;
  } else {
    place.into = int;
    place.at = offset / 4;
  }
  return place;
}

/**
 * A place for `elements` values of `datatype`, carved from the current slab. The slab's own
 * typed arrays are written at an index: a typed array made for each line cost about 100 ns.
 */
function placeFor(datatype: ScanDatatype, elements: number): Place {
  const bytes = elements * valueBytes(datatype);
  if (bytes > SLAB_BYTES / 8) {
    // Rounded up to 8 bytes, as the slab's places are, so each of placeAt's views can be made of it.
    const own = new ArrayBuffer(Math.ceil(bytes / 8) * 8);
    const f32 = new Float32Array(own);
    return placeAt({ into: f32, at: 0 }, datatype, f32, new Float64Array(own), new Int32Array(own), 0);
  }
  const at = Math.ceil(slabUsed / 8) * 8;
  if (at + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slab32 = new Float32Array(slab);
    slab64 = new Float64Array(slab);
    slabInt = new Int32Array(slab);
    slabUsed = 0;
    return placeFor(datatype, elements);
  }
  slabUsed = at + bytes;
  return placeAt({ into: slab32, at: 0 }, datatype, slab32, slab64, slabInt, at);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Reads `count` values of `datatype` at `place` (byte-reader.ts `floats` or `integers`). */
function values(r: ByteReader, datatype: ScanDatatype, place: Place, count: number): boolean {
  if (datatype === 'FP32' || datatype === 'FP64') return r.floats(place, count);
  // INT64: `integers` reads 15 digits through a double and longer ids exactly, within INT64
  return datatype === 'INT32' ? r.integers(place, count, false, INT32_MIN, INT32_MAX) : r.integers(place, count, true, -Infinity, Infinity);
}

/**
 * What `scanRow` learnt of a line besides its values: its custom_id's range of text between
 * the quotes, `[start, end)` (start -1 when the line has none), and its rows (1 but for a
 * tensor-form line of several).
 */
export interface LineRead {
  start: number;
  end: number;
  rows: number;
}

/**
 * Asked by `scanRow` when a tensor-form line turns out to hold `rows` rows (more than one),
 * before any of its values is read: false refuses the line; true means `places` now have room
 * for that many rows.
 */
export type RoomFor = (rows: number) => boolean;

const CUSTOM_ID = Buffer.from('custom_id');
const INPUTS = Buffer.from('inputs');
const NAME = Buffer.from('name');
const DATATYPE = Buffer.from('datatype');
const SHAPE = Buffer.from('shape');
const DATA = Buffer.from('data');
const DATATYPES = SCAN_DATATYPES.map((d) => [d, Buffer.from(d)] as const);
const names = new WeakMap<readonly ScanInput[], Buffer[]>();

/**
 * Reads `line[start, end)` (UTF-8 bytes: an upload's lines are read where they lie in the
 * piece of the body that holds them) as a line for `inputs`, or returns undefined (see above).
 * Its values go into slabs (`placeFor`).
 */
export function scanRowLine(line: Uint8Array, inputs: readonly ScanInput[], start = 0, end = line.length): ScannedLine | undefined {
  const places = inputs.map((s) => placeFor(s.datatype, s.elements));
  const read: LineRead = { start: -1, end: -1, rows: 1 };
  const room = (rows: number) => {
    inputs.forEach((s, i) => (places[i] = placeFor(s.datatype, rows * s.elements)));
    return true;
  };
  const form = scanRow(line, inputs, places, read, start, end, room);
  if (form === NOT_READ) return undefined;
  return {
    customId: read.start < 0 ? undefined : textOf(line, read.start, read.end),
    rows: read.rows,
    inputs: inputs.map((s, i) => {
      const { into, at } = places[i]!;
      const data = new Uint8Array(into.buffer, into.byteOffset + at * into.BYTES_PER_ELEMENT, read.rows * s.elements * valueBytes(s.datatype));
      return { name: s.name, datatype: s.datatype, shape: [read.rows, ...s.shape.slice(1)], data };
    }),
    compact: form === COMPACT_ROW,
  };
}

/**
 * The same reading, allocating nothing: input i's values are written at `places[i]` (room for
 * one row; `room` is asked for more, and without it a line of several rows is refused), the
 * custom_id's range and the rows into `id`; NOT_READ when the line is not one this reader takes
 * (whatever it wrote is then to be ignored), else its form. The chunker reads lines straight
 * into its chunk with it.
 */
export function scanRow(
  line: Uint8Array, inputs: readonly ScanInput[], places: readonly Place[], id: LineRead, start = 0, end = line.length, room?: RoomFor,
): RowForm {
  let inputNames = names.get(inputs);
  if (!inputNames) names.set(inputs, (inputNames = inputs.map((s) => Buffer.from(s.name))));
  const r = new ByteReader(line, start, end);
  id.start = -1;
  id.rows = 1;
  if (!r.expect(LBRACE)) return NOT_READ;
  let form: RowForm = NOT_READ;
  for (let first = true; ; first = false) {
    r.space();
    if (first && r.peek() === RBRACE) return NOT_READ; // {}: not our line
    if (!r.string()) return NOT_READ;
    if (r.is(CUSTOM_ID) && id.start < 0) {
      if (!r.expect(COLON) || !r.string()) return NOT_READ;
      id.start = r.strStart;
      id.end = r.strEnd;
    } else if (r.is(INPUTS) && form === NOT_READ) {
      if (!r.expect(COLON)) return NOT_READ;
      r.space();
      if (r.peek() === LBRACKET) {
        if (!readTensors(r, inputs, inputNames, places, id, room)) return NOT_READ;
        form = TENSOR_ROW;
      } else {
        if (!readInputs(r, inputs, inputNames, places)) return NOT_READ;
        form = COMPACT_ROW;
      }
    } else {
      return NOT_READ;
    }
    if (r.expect(COMMA)) continue;
    if (!r.expect(RBRACE)) return NOT_READ;
    break;
  }
  r.space();
  return r.pos === end ? form : NOT_READ;
}

/** Inputs this reader takes at most (one bit each of a line's inputs read); a model with more takes the general path. */
const MAX_INPUTS = 31;

/** `{"name": [numbers], ...}` naming each input exactly once, in any order; input i's values go to `places[i]`. */
function readInputs(r: ByteReader, inputs: readonly ScanInput[], inputNames: Buffer[], places: readonly Place[]): boolean {
  if (inputs.length > MAX_INPUTS || !r.expect(LBRACE)) return false;
  let seen = 0;
  for (let k = 0; k < inputs.length; k++) {
    if (k > 0 && !r.expect(COMMA)) return false;
    if (!r.string()) return false;
    let i = 0;
    while (i < inputNames.length && !r.is(inputNames[i]!)) i++;
    const spec = inputs[i];
    if (!spec || seen & (1 << i) || !r.expect(COLON) || !r.expect(LBRACKET)) return false;
    if (!values(r, spec.datatype, places[i]!, spec.elements) || !r.expect(RBRACKET)) return false;
    seen |= 1 << i;
  }
  return r.expect(RBRACE);
}

/** Dimensions a tensor's shape may have here (ScanInput shapes are short). */
const MAX_DIMS = 8;
const shapeRead: number[] = new Array<number>(MAX_DIMS).fill(0);

/**
 * `[{"name": …, "datatype": …, "shape": [rows, …], "data": [numbers]}, …]`: each input exactly
 * once, in any order, its keys in any order but `name` before `data` (where its values go), its
 * datatype and shape the model's, every input of the same rows (1 for a tensor whose data
 * comes before any shape); input i's values go to `places[i]`, the rows into `read`.
 */
function readTensors(r: ByteReader, inputs: readonly ScanInput[], inputNames: Buffer[], places: readonly Place[], read: LineRead, room: RoomFor | undefined): boolean {
  if (inputs.length > MAX_INPUTS || !r.expect(LBRACKET)) return false;
  let seen = 0;
  /** the line's rows, once a shape or a data list has said (0: not yet) */
  let rows = 0;
  for (let k = 0; k < inputs.length; k++) {
    if (k > 0 && !r.expect(COMMA)) return false;
    if (!r.expect(LBRACE)) return false;
    let i = -1;
    let datatype: ScanInput['datatype'] | undefined;
    let dims = -1;
    let data = false;
    for (;;) {
      if (!r.string()) return false;
      if (r.is(NAME) && i < 0) {
        if (!r.expect(COLON) || !r.string()) return false;
        i = 0;
        while (i < inputNames.length && !r.is(inputNames[i]!)) i++;
        if (i === inputs.length || seen & (1 << i)) return false;
        seen |= 1 << i;
      } else if (r.is(DATATYPE) && datatype === undefined) {
        if (!r.expect(COLON) || !r.string()) return false;
        for (let d = 0; d < DATATYPES.length && !datatype; d++) if (r.is(DATATYPES[d]![1])) datatype = DATATYPES[d]![0];
        if (!datatype) return false;
      } else if (r.is(SHAPE) && dims < 0) {
        if (!r.expect(COLON) || (dims = r.ints(shapeRead)) < 1) return false;
        const shapeRows = shapeRead[0]!;
        if (rows === 0) {
          // the first word on the line's rows: room for them before any value is read
          if (shapeRows < 1 || (shapeRows > 1 && !room?.(shapeRows))) return false;
          rows = shapeRows;
        } else if (shapeRows !== rows) {
          return false;
        }
      } else if (r.is(DATA) && !data && i >= 0) {
        if (rows === 0) rows = 1;
        if (!r.expect(COLON) || !r.expect(LBRACKET)) return false;
        if (!values(r, inputs[i]!.datatype, places[i]!, rows * inputs[i]!.elements) || !r.expect(RBRACKET)) return false;
        data = true;
      } else {
        return false;
      }
      if (r.expect(COMMA)) continue;
      if (!r.expect(RBRACE)) return false;
      break;
    }
    const spec = inputs[i];
    if (!spec || !data || datatype !== spec.datatype || dims !== spec.shape.length) return false;
    for (let d = 1; d < dims; d++) if (shapeRead[d] !== spec.shape[d]) return false;
  }
  read.rows = rows;
  return r.expect(RBRACKET);
}
