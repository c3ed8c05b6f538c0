/**
 * PURE: cuts a stream of parsed lines into chunks, each one queue job. A chunk holds up to
 * `chunkRows` rows (many ONNX runs' worth: see models/chunk-size.ts) from consecutive
 * lines; lines that failed validation ride along in the chunk of their neighbours, so reading
 * the chunks in order gives every line in input order. A line with more rows than
 * `chunkRows` gets a chunk of its own (the worker spreads it over several runs), and lines
 * whose non-batch dimensions differ never share a chunk.
 */
import type { ChunkLine, RawTensor } from '@maas/shared';
import type { ChunkLines } from './chunk-lines.js';
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

export class Chunker {
  private index = 0;
  private lines: ChunkLine[] = [];
  private parts: RawTensor[][] = [];
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
    this.parts.push(line.inputs);
    this.rows += line.rows;
    this.shapeKey = line.shapeKey;
    if (this.rows >= this.chunkRows) closed.push(this.close());
    return closed;
  }

  /** The last chunk (also one made only of invalid lines), if any line is left. */
  finish(): Chunk<ChunkLine[]> | undefined {
    return this.lines.length > 0 ? this.close() : undefined;
  }

  private close(): Chunk<ChunkLine[]> {
    const inputs: RawTensor[] = [];
    const first = this.parts[0];
    if (first) {
      for (let i = 0; i < first.length; i++) {
        const pieces = this.parts.map((p) => p[i]!);
        const shape = [this.rows, ...first[i]!.shape.slice(1)];
        const data = Array.isArray(first[i]!.data)
          ? pieces.flatMap((p) => p.data as string[])
          : Buffer.concat(pieces.map((p) => p.data as Uint8Array));
        inputs.push({ name: first[i]!.name, datatype: first[i]!.datatype, shape, data });
      }
    }
    const chunk: Chunk<ChunkLine[]> = {
      index: this.index++,
      lines: this.lines,
      rows: this.rows,
      linesWithRows: this.lines.filter((l) => l[1] > 0).length,
      inputs,
    };
    this.lines = [];
    this.parts = [];
    this.rows = 0;
    this.shapeKey = undefined;
    return chunk;
  }
}
