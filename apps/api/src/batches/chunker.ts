/**
 * PURE: cuts a stream of parsed lines into chunks, each one queue job. A chunk holds up to
 * `chunkRows` rows (many ONNX runs' worth: see models/chunk-size.ts) from consecutive
 * lines; lines that failed validation ride along in the chunk of their neighbours, so reading
 * the chunks in order gives every line in input order. A line with more rows than
 * `chunkRows` gets a chunk of its own (the worker spreads it over several runs), and lines
 * whose non-batch dimensions differ never share a chunk. A chunk holds at most
 * CHUNK_LINES_MIN_CAP lines (or `chunkRows`, when more), however few rows they bring.
 *
 * The common lines, float or integer inputs in the compact or the tensor form, are read
 * straight into the open chunk (`addRow`): their values into the chunk's columns and (a line
 * of one row) their custom ids' JSON text into the chunk's stored id list (chunk-lines.ts),
 * with no object made for the line. Every other line is parsed first (line.ts) and `add`ed.
 */
import type { BlockPool, ChunkLine, RawTensor } from '@maas/shared';
import { IdsJsonWriter, linesWithRows, type ChunkLines } from './chunk-lines.js';
import { textOf } from '../json/byte-reader.js';
import { COMPACT_ROW, NOT_READ, placeAt, scanRow, valueBytes, type LineRead, type Place, type ScanInput } from './row-scan.js';
import type { ParsedLine } from './line.js';

export interface Chunk {
  index: number;
  /** the lines: a list, the ids' stored text, or (`.npy`) the range of rows that are its lines (chunk-lines.ts) */
  lines: ChunkLines;
  rows: number;
  /** lines that contributed rows */
  linesWithRows: number;
  /** one tensor per model input, the rows of every line joined; empty when no line had rows */
  inputs: RawTensor[];
}

/** What `addRow` needs of a model: its inputs as the scanner reads them, and the shape key of a row of them. */
export interface RowPlan {
  inputs: readonly ScanInput[];
  shapeKey: string;
}

/** One input's rows of the open chunk: bytes appended as lines arrive (or strings, for BYTES). */
interface Column {
  name: string;
  datatype: RawTensor['datatype'];
  /** the shape after the rows dimension */
  rest: number[];
  /** its own ArrayBuffer (offset 0), so the views below line up */
  bytes: Buffer | undefined;
  f32: Float32Array | undefined;
  f64: Float64Array | undefined;
  /** integers' view (row-scan.ts `placeAt`) */
  int: Int32Array | undefined;
  used: number;
  strings: string[] | undefined;
}

const NONE: readonly Chunk[] = Object.freeze([]);

/**
 * The lines a chunk holds at most, with `chunkRows` when that is more: invalid lines bring no
 * rows, so without a cap a file of them made one chunk of them all (a million `{}` lines, 3 kB
 * gzipped, took the API past a gigabyte and one Redis field past 130 MB; four million, past
 * the longest string V8 makes). A line's stored entry is tens of bytes (an invalid one's
 * error, about 140), so a chunk's line list stays around a megabyte.
 */
export const CHUNK_LINES_MIN_CAP = 8192;

export class Chunker {
  private index = 0;
  /** the open chunk's lines while each is one row that passed its checks, all of one form: their ids' JSON text */
  private ids = new IdsJsonWriter();
  /** the open chunk's lines once any is not such a line (then `ids` is unused) */
  private list: ChunkLine[] | null = null;
  private columns: Column[] | undefined;
  private rows = 0;
  private shapeKey: string | undefined;
  /** reused by `addRow`: where the line's values go, its custom id's range and rows */
  private readonly places: Place[] = [];
  private readonly read: LineRead = { start: -1, end: -1, rows: 1 };
  /** the plan of the line `addRow` is reading, for `roomFor` */
  private plan: RowPlan | undefined;
  /**
   * Room in the open chunk for a line of `rows` rows that `addRow` is reading (row-scan.ts
   * `RoomFor`): none when they would take it past `chunkRows` (the line is then parsed and
   * `add`ed, which closes the chunk first), else reserved, the places moved to it.
   */
  private readonly roomFor = (rows: number): boolean => {
    if (this.rows > 0 && this.rows + rows > this.chunkRows) return false;
    this.place(this.plan!, rows);
    return true;
  };

  /** lines a chunk holds at most (CHUNK_LINES_MIN_CAP): an invalid line that reaches it closes the chunk */
  private readonly maxLines: number;

  /** `blocks`: where the columns' memory comes from (given back by whoever has used a chunk's inputs up) */
  constructor(private readonly chunkRows: number, private readonly blocks?: BlockPool) {
    this.maxLines = Math.max(chunkRows, CHUNK_LINES_MIN_CAP);
  }

  /** Adds a parsed line; returns the chunks this closed (zero, one, or two around an oversized line). */
  add(line: ParsedLine): readonly Chunk[] {
    if (!line.ok) {
      const list = this.lineList();
      list.push([line.customId, 0, 0, line.error]);
      // Only invalid lines can make a chunk's lines outgrow its rows: they close it at the cap.
      return list.length >= this.maxLines ? [this.close()] : NONE;
    }
    const closed: Chunk[] = [];
    const incompatible = this.shapeKey !== undefined && this.shapeKey !== line.shapeKey;
    if (this.rows > 0 && (incompatible || this.rows + line.rows > this.chunkRows)) closed.push(this.close());
    if (line.rows === 1 && this.list === null && this.ids.takes(line.compact)) this.ids.addString(line.customId, line.compact);
    else this.lineList().push([line.customId, line.rows, line.compact ? 1 : 0]);
    this.append(line.inputs, line.rows);
    this.rows += line.rows;
    this.shapeKey = line.shapeKey;
    if (this.rows >= this.chunkRows) closed.push(this.close());
    return closed;
  }

  /**
   * Reads NDJSON line `n` (`buf[start, end)`) straight into the open chunk when it is a line
   * the scanner takes (row-scan.ts `scanRow`: compact, or tensor-form rows that fit the open
   * chunk). Returns the chunks this closed, or undefined when the line was not read (not such a
   * line, or the open chunk holds rows of another shape or has no room for its rows): the
   * caller then parses it (line.ts) and `add`s it.
   */
  addRow(buf: Uint8Array, start: number, end: number, n: number, plan: RowPlan): readonly Chunk[] | undefined {
    if (this.rows > 0 && this.shapeKey !== plan.shapeKey) return undefined;
    // The open chunk has room for one row (it closes as soon as it reaches chunkRows); more are asked for (roomFor).
    const fresh = this.columns === undefined;
    this.plan = plan;
    const columns = this.place(plan, 1);
    const { places, read } = this;
    const form = scanRow(buf, plan.inputs, places, read, start, end, this.roomFor);
    if (form === NOT_READ) {
      // As if never tried (the line may well be an invalid one), its columns' blocks given back
      // for the next line to take: a file of invalid lines took a fresh megabyte a line (0.3 ms).
      if (fresh) this.dropColumns();
      return undefined;
    }
    // Each column now holds the rows its place was given.
    const rows = read.rows;
    for (let i = 0; i < plan.inputs.length; i++) {
      const { into, at } = places[i]!;
      const spec = plan.inputs[i]!;
      columns[i]!.used = at * into.BYTES_PER_ELEMENT + rows * spec.elements * valueBytes(spec.datatype);
    }
    const compact = form === COMPACT_ROW;
    if (rows === 1 && this.list === null && this.ids.takes(compact)) {
      if (read.start < 0) this.ids.addString(String(n), compact);
      else this.ids.addText(buf, read.start, read.end, compact);
    } else {
      this.lineList().push([read.start < 0 ? String(n) : textOf(buf, read.start, read.end), rows, compact ? 1 : 0]);
    }
    this.rows += rows;
    this.shapeKey = plan.shapeKey;
    return this.rows >= this.chunkRows ? [this.close()] : NONE;
  }

  /** Room in the open chunk's columns for `rows` more rows of `plan`'s inputs, and `places` there. */
  private place(plan: RowPlan, rows: number): Column[] {
    const columns = (this.columns ??= plan.inputs.map((s) => column(s.name, s.datatype, s.shape.slice(1))));
    const { places } = this;
    for (let i = 0; i < plan.inputs.length; i++) {
      const c = columns[i]!;
      const { datatype, elements } = plan.inputs[i]!;
      this.reserve(c, valueBytes(datatype) * elements * rows, rows);
      placeAt((places[i] ??= { into: c.f32!, at: 0 }), datatype, c.f32!, c.f64!, c.int!, c.used);
    }
    return columns;
  }

  /** Forgets the open chunk's columns, which hold no row, their blocks back in the pool. */
  private dropColumns(): void {
    for (const c of this.columns ?? []) if (c.bytes) this.blocks?.give(c.bytes);
    this.columns = undefined;
  }

  /** The last chunk (also one made only of invalid lines), if any line is left. */
  finish(): Chunk | undefined {
    return (this.list?.length ?? this.ids.count) > 0 ? this.close() : undefined;
  }

  /** The open chunk's lines as a list (from now on until it closes). */
  private lineList(): ChunkLine[] {
    this.list ??= this.ids.lines();
    return this.list;
  }

  /** Room in `c` for `rows` more rows of `bytes` bytes in all: a whole chunk of such rows at once, doubled if a line brings more. */
  private reserve(c: Column, bytes: number, rows: number): void {
    const need = c.used + bytes;
    if (c.bytes && need <= c.bytes.length) return;
    const perRow = rows > 0 ? bytes / rows : 0;
    const size = Math.max(need, 2 * (c.bytes?.length ?? 0), Math.ceil(perRow * this.chunkRows));
    const grown = Buffer.from(this.blocks ? this.blocks.take(size) : new ArrayBuffer(size));
    if (c.bytes) c.bytes.copy(grown, 0, 0, c.used);
    c.bytes = grown;
    c.f32 = new Float32Array(grown.buffer, 0, grown.length >>> 2);
    c.f64 = new Float64Array(grown.buffer, 0, grown.length >>> 3);
    c.int = new Int32Array(grown.buffer, 0, grown.length >>> 2);
  }

  /**
   * Copies a line's values into the open chunk at once, so the line keeps nothing alive: a
   * chunk's 8,192 lines held until it closed were promoted by the garbage collector, which
   * then had to copy and mark them (12 % of an NDJSON upload's time).
   */
  private append(inputs: readonly RawTensor[], rows: number): void {
    const columns = (this.columns ??= inputs.map((t) => column(t.name, t.datatype, t.shape.slice(1))));
    for (let i = 0; i < inputs.length; i++) {
      const data = inputs[i]!.data;
      const c = columns[i]!;
      if (Array.isArray(data)) {
        c.strings ??= [];
        for (const s of data) c.strings.push(s);
        continue;
      }
      this.reserve(c, data.byteLength, rows);
      c.bytes!.set(data, c.used);
      c.used += data.byteLength;
    }
  }

  private close(): Chunk {
    const inputs: RawTensor[] = (this.columns ?? []).map((c) => ({
      name: c.name,
      datatype: c.datatype,
      shape: [this.rows, ...c.rest],
      data: c.strings ?? (c.bytes ? c.bytes.subarray(0, c.used) : Buffer.alloc(0)),
    }));
    const lines: ChunkLines = this.list ?? this.ids.finish();
    const chunk: Chunk = { index: this.index++, lines, rows: this.rows, linesWithRows: linesWithRows(lines), inputs };
    this.ids = new IdsJsonWriter();
    this.list = null;
    this.columns = undefined;
    this.rows = 0;
    this.shapeKey = undefined;
    return chunk;
  }
}

function column(name: string, datatype: RawTensor['datatype'], rest: number[]): Column {
  return { name, datatype, rest, bytes: undefined, f32: undefined, f64: undefined, int: undefined, used: 0, strings: undefined };
}
