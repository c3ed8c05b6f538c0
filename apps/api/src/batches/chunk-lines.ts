/**
 * PURE: how a chunk's lines are kept in Redis (the batch's `lines` hash, one field per chunk),
 * for the results (custom ids, errors, rows per line) and for a cancel (how many lines ran).
 *
 * - An `.npy` chunk's lines follow from its rows (row i of the array is line i, custom_id
 *   "i", one row each), so it keeps only their range: `{"first":16384,"rows":8192}`.
 * - An NDJSON chunk whose every line is one row that passed its checks, all in one form (the
 *   common case), keeps only its custom ids: `{"ids":["r0","r1",…]}` for compact lines,
 *   `{"tensor_ids":[…]}` for tensor-form lines. A list of 8,192 `["r0",1,1]` entries took 43
 *   ms to write and 68–90 ms to parse for 200,000 lines; the ids 17 and 21. The chunker
 *   writes that text as it reads the lines (IdsJsonWriter: `IdsText`).
 * - Any other chunk keeps its list of lines, `[["r0",1,1],["bad",0,0,{error}],…]`.
 *
 * Read back (`ReadLines`), a line of one row that passed its checks, of an ids form, is its
 * custom id's JSON text alone (a string, quotes included), so none of the forms makes an
 * array a line, and the ids are sliced, not parsed: `JSON.parse` made (and interned) a string
 * an id, and the results turned each back into JSON text; 46 + 50 against 21 ns an id alone
 * on a core.
 */
import type { ChunkLine } from '@maas/shared';
import { BACKSLASH, COMMA, QUOTE, RBRACE, RBRACKET } from '../json/byte-reader.js';

/** The rows first … first+rows-1 of an `.npy` array, one line each. */
export interface RowRange {
  first: number;
  rows: number;
}

/** The custom ids of a chunk's lines, each one row that passed its checks: compact lines (`ids`) or tensor-form ones. */
type IdList = { ids: string[] } | { tensor_ids: string[] };

/** An IdList as its stored JSON text, written id by id as the lines arrive (IdsJsonWriter). */
export interface IdsText {
  json: Buffer;
  count: number;
}

export type ChunkLines = ChunkLine[] | RowRange | IdsText;

/** Each ids form's opening, by the form of its lines (compact or not). */
const IDS_OPEN = { compact: Buffer.from('{"ids":['), tensor: Buffer.from('{"tensor_ids":[') };
const IDS_CLOSE = Buffer.from(']}');

/**
 * Writes `{"ids":[…]}` (or `{"tensor_ids":[…]}`) id by id: exactly what JSON.stringify makes of
 * the list (tested), with no string made for an id that is already JSON text (an upload's
 * custom ids, read where they lie in the body: row-scan.ts takes only strings without escapes
 * or control characters). The first line's form is every line's: `takes` says whether a line
 * of a form may join.
 */
export class IdsJsonWriter {
  private buf: Buffer | undefined;
  private at = 0;
  /** the form of the lines written (compact, else tensor-form), set by the first */
  private compact = true;
  count = 0;

  /** Whether a line of one row of this form (compact or not) may be written here. */
  takes(compact: boolean): boolean {
    return this.count === 0 || this.compact === compact;
  }

  /** An id whose JSON string content (between its quotes) is `text[start, end)`; its line's form (see `takes`). */
  addText(text: Uint8Array, start: number, end: number, compact = true): void {
    const b = this.room(end - start + 3, compact);
    if (this.count++ > 0) b[this.at++] = COMMA;
    let at = this.at;
    b[at++] = QUOTE;
    for (let i = start; i < end; i++) b[at++] = text[i]!; // ids are short: no view made for each
    b[at++] = QUOTE;
    this.at = at;
  }

  addString(id: string, compact = true): void {
    const json = JSON.stringify(id);
    const b = this.room(json.length * 3 + 1, compact);
    if (this.count++ > 0) b[this.at++] = COMMA;
    this.at += b.write(json, this.at, 'utf8');
  }

  /** The lines written so far, as a list. */
  lines(): ChunkLine[] {
    if (this.count === 0) return [];
    const list = JSON.parse(this.finish().json.toString('utf8')) as IdList;
    return ('ids' in list ? list.ids : list.tensor_ids).map((id): ChunkLine => [id, 1, this.compact ? 1 : 0]);
  }

  /** The stored text of the ids so far. */
  finish(): IdsText {
    const b = this.room(IDS_CLOSE.length, this.compact);
    IDS_CLOSE.copy(b, this.at);
    return { json: b.subarray(0, this.at + IDS_CLOSE.length), count: this.count };
  }

  /** The buffer, with room for `bytes` more (opened for the first line's form). */
  private room(bytes: number, compact: boolean): Buffer {
    if (!this.buf) {
      this.compact = compact;
      const open = compact ? IDS_OPEN.compact : IDS_OPEN.tensor;
      this.buf = Buffer.allocUnsafe(Math.max(16 * 1024, open.length + bytes + IDS_CLOSE.length));
      this.at = open.copy(this.buf, 0);
    }
    if (this.at + bytes + IDS_CLOSE.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + bytes + IDS_CLOSE.length));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    return this.buf;
  }
}

/**
 * A line read back: its ChunkLine, or (one row that passed its checks, of an ids form) its
 * custom id as JSON text, e.g. `"r0"` with its quotes: what JSON.stringify makes of the id.
 */
export type ReadLine = ChunkLine | string;

/** A chunk's lines read back, and the form of those given as strings. */
export interface ReadLines {
  lines: readonly ReadLine[];
  /** whether a string line is a compact line (else a tensor-form line of one row) */
  compactIds: boolean;
}

const plainRow = (l: ChunkLine): boolean => l[1] === 1 && l[2] === 1 && l[3] === undefined;

export function storedLines(lines: ChunkLines): string | Buffer {
  if ('json' in lines) return lines.json;
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every(plainRow)) return JSON.stringify(lines);
  return JSON.stringify({ ids: lines.map((l) => l[0]) } satisfies IdList);
}

const NO_LINES: ReadLines = { lines: [], compactIds: true };
const IDS_TEXT_OPEN = { compact: IDS_OPEN.compact.toString(), tensor: IDS_OPEN.tensor.toString() };

/** A chunk's lines from their stored form (none when absent). */
export function readLines(stored: string | null | undefined): ReadLines {
  if (!stored) return NO_LINES;
  if (stored.startsWith(IDS_TEXT_OPEN.compact)) return { lines: idTexts(stored, IDS_TEXT_OPEN.compact.length), compactIds: true };
  if (stored.startsWith(IDS_TEXT_OPEN.tensor)) return { lines: idTexts(stored, IDS_TEXT_OPEN.tensor.length), compactIds: false };
  const value = JSON.parse(stored) as ChunkLine[] | RowRange;
  if (Array.isArray(value)) return { lines: value, compactIds: true };
  const lines: string[] = new Array(value.rows);
  for (let i = 0; i < value.rows; i++) lines[i] = `"${value.first + i}"`;
  return { lines, compactIds: true };
}

/**
 * The ids form's ids as their JSON texts, sliced where they lie. The text is JSON.stringify's
 * (storedLines, IdsJsonWriter: tested), so an id is a quote, characters or escapes, a quote,
 * and ids are separated by single commas; anything else is refused, not misread.
 */
function idTexts(stored: string, from: number): string[] {
  const ids: string[] = [];
  let at = from;
  if (stored.charCodeAt(at) === RBRACKET) return expectEnd(stored, at, ids);
  for (;;) {
    if (stored.charCodeAt(at) !== QUOTE) throw new Error(`stored ids: a string expected at ${at}`);
    let end = at + 1;
    for (;;) {
      const c = stored.charCodeAt(end);
      if (c === QUOTE) break;
      if (Number.isNaN(c)) throw new Error('stored ids: an unterminated string');
      end += c === BACKSLASH ? 2 : 1;
    }
    ids.push(stored.slice(at, end + 1));
    at = end + 1;
    const next = stored.charCodeAt(at);
    if (next === RBRACKET) return expectEnd(stored, at, ids);
    if (next !== COMMA) throw new Error(`stored ids: a comma expected at ${at}`);
    at++;
  }
}

function expectEnd(stored: string, at: number, ids: string[]): string[] {
  if (stored.length !== at + 2 || stored.charCodeAt(at + 1) !== RBRACE) throw new Error(`stored ids: the end expected at ${at}`);
  return ids;
}

/**
 * The rows of each of a chunk's lines that has rows, in order, when some has more than one
 * (a tensor-form line of several rows); undefined when each is one row. The worker fails a
 * line whose rows fail their run alone, by these (a chunk job's `batch.lineRows`).
 */
export function rowsPerLine(lines: ChunkLines, rows: number, withRows: number): number[] | undefined {
  if (withRows === rows || !Array.isArray(lines)) return undefined;
  const counts: number[] = [];
  for (const l of lines) if (l[1] > 0) counts.push(l[1]);
  return counts;
}

/** How many lines of a chunk have rows (the others failed their checks at upload). */
export function linesWithRows(lines: RowRange | IdsText | readonly ReadLine[]): number {
  if ('count' in lines) return lines.count;
  if (!('length' in lines)) return lines.rows;
  let n = 0;
  for (const l of lines) if (typeof l === 'string' || l[1] > 0) n++;
  return n;
}
