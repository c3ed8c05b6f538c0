/**
 * PURE: cuts a stream of parsed lines into chunks, each one queue job. A chunk holds up to
 * `chunkRows` rows (many ONNX runs' worth: see models/chunk-size.ts) from consecutive
 * lines; lines that failed validation ride along in the chunk of their neighbours, so reading
 * the chunks in order gives every line in input order. A line with more rows than
 * `chunkRows` gets a chunk of its own (the worker spreads it over several runs), and lines
 * whose non-batch dimensions differ never share a chunk.
 */
import type { ChunkLine, RawTensor } from '@maas/shared';
import { linesWithRows, type ChunkLines } from './chunk-lines.js';
import type { ParsedLine } from './line.js';

export interface Chunk<Lines extends ChunkLines = ChunkLines> {
  index: number;
  /** the lines, or (`.npy`) the range of rows that are its lines (chunk-lines.ts) */
  lines: Lines;
  rows: number;
  /** lines that contributed rows */
  linesWithRows: number;
  /** one tensor per model input, the rows of every line joined; empty when no line had rows */
  inputs: RawTensor[];
}

/** One input's rows of the open chunk: bytes appended as lines arrive (or strings, for BYTES). */
interface Column {
  name: string;
  datatype: RawTensor['datatype'];
  /** the shape after the rows dimension */
  rest: number[];
  bytes: Buffer | undefined;
  used: number;
  strings: string[] | undefined;
}

export class Chunker {
  private index = 0;
  private lines: ChunkLine[] = [];
  private columns: Column[] | undefined;
  private rows = 0;
  private shapeKey: string | undefined;

  constructor(private readonly chunkRows: number) {}

  /** Adds a line; returns the chunks this closed (zero, one, or two around an oversized line). */
  add(line: ParsedLine): Chunk<ChunkLine[]>[] {
    if (!line.ok) {
      this.lines.push([line.customId, 0, 0, line.error]);
      return [];
    }
    const closed: Chunk<ChunkLine[]>[] = [];
    const incompatible = this.shapeKey !== undefined && this.shapeKey !== line.shapeKey;
    if (this.rows > 0 && (incompatible || this.rows + line.rows > this.chunkRows)) closed.push(this.close());
    this.lines.push([line.customId, line.rows, line.compact ? 1 : 0]);
    this.append(line.inputs, line.rows);
    this.rows += line.rows;
    this.shapeKey = line.shapeKey;
    if (this.rows >= this.chunkRows) closed.push(this.close());
    return closed;
  }

  /**
   * Copies a line's values into the open chunk at once, so the line keeps nothing alive: a
   * chunk's 8,192 lines held until it closed were promoted by the garbage collector, which
   * then had to copy and mark them (12 % of an NDJSON upload's time).
   */
  private append(inputs: readonly RawTensor[], rows: number): void {
    const columns = (this.columns ??= inputs.map((t) => ({
      name: t.name, datatype: t.datatype, rest: t.shape.slice(1), bytes: undefined, used: 0, strings: undefined,
    })));
    for (let i = 0; i < inputs.length; i++) {
      const data = inputs[i]!.data;
      const c = columns[i]!;
      if (Array.isArray(data)) {
        c.strings ??= [];
        for (const s of data) c.strings.push(s);
        continue;
      }
      const need = c.used + data.byteLength;
      if (!c.bytes || need > c.bytes.length) {
        // Room for a whole chunk of rows like these at once; doubled if a line brings more.
        const perRow = rows > 0 ? data.byteLength / rows : 0;
        const grown = Buffer.allocUnsafe(Math.max(need, 2 * (c.bytes?.length ?? 0), Math.ceil(perRow * this.chunkRows)));
        if (c.bytes) c.bytes.copy(grown, 0, 0, c.used);
        c.bytes = grown;
      }
      c.bytes.set(data, c.used);
      c.used = need;
    }
  }

  /** The last chunk (also one made only of invalid lines), if any line is left. */
  finish(): Chunk<ChunkLine[]> | undefined {
    return this.lines.length > 0 ? this.close() : undefined;
  }

  private close(): Chunk<ChunkLine[]> {
    const inputs: RawTensor[] = (this.columns ?? []).map((c) => ({
      name: c.name,
      datatype: c.datatype,
      shape: [this.rows, ...c.rest],
      data: c.strings ?? (c.bytes ? c.bytes.subarray(0, c.used) : Buffer.alloc(0)),
    }));
    const chunk: Chunk<ChunkLine[]> = {
      index: this.index++,
      lines: this.lines,
      rows: this.rows,
      linesWithRows: linesWithRows(this.lines),
      inputs,
    };
    this.lines = [];
    this.columns = undefined;
    this.rows = 0;
    this.shapeKey = undefined;
    return chunk;
  }
}
