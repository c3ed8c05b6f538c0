/**
 * PURE: how a chunk's lines are kept in Redis (the batch's `lines` hash, one field per chunk),
 * for the results (custom ids, errors, rows per line) and for a cancel (how many lines ran).
 *
 * - An `.npy` chunk's lines follow from its rows (row i of the array is line i, custom_id
 *   "i", one row each), so it keeps only their range: `{"first":16384,"rows":8192}`.
 * - An NDJSON chunk whose every line is one compact row that passed its checks (the common
 *   case) keeps only its custom ids: `{"ids":["r0","r1",…]}`. A list of 8,192 `["r0",1,1]`
 *   entries took 43 ms to write and 68–90 ms to parse for 200,000 lines; the ids 17 and 21.
 *   The chunker writes that text as it reads the lines (IdsJsonWriter: `IdsText`).
 * - Any other chunk keeps its list of lines, `[["r0",1,1],["bad",0,0,{error}],…]`.
 *
 * Read back, a line of one compact row that passed its checks is its custom id's JSON text
 * alone (a string, quotes included), so none of the forms makes an array a line, and the ids
 * form is sliced, not parsed: `JSON.parse` made (and interned) a string an id, and the results
 * turned each back into JSON text; 46 + 50 against 21 ns an id alone on a core.
 */
import type { ChunkLine } from '@maas/shared';

/** The rows first … first+rows-1 of an `.npy` array, one line each. */
export interface RowRange {
  first: number;
  rows: number;
}

/** The custom ids of a chunk's lines, each one compact row that passed its checks. */
interface IdList {
  ids: string[];
}

/** An IdList as its stored JSON text, written id by id as the lines arrive (IdsJsonWriter). */
export interface IdsText {
  json: Buffer;
  count: number;
}

export type ChunkLines = ChunkLine[] | RowRange | IdsText;

const IDS_OPEN = Buffer.from('{"ids":[');
const IDS_CLOSE = Buffer.from(']}');
const QUOTE = 0x22;
const COMMA = 0x2c;

/**
 * Writes `{"ids":[…]}` id by id: exactly what JSON.stringify makes of the list (tested), with
 * no string made for an id that is already JSON text (an upload's custom ids, read where they
 * lie in the body: row-scan.ts takes only strings without escapes or control characters).
 */
export class IdsJsonWriter {
  private buf: Buffer | undefined;
  private at = 0;
  count = 0;

  /** An id whose JSON string content (between its quotes) is `text[start, end)`. */
  addText(text: Uint8Array, start: number, end: number): void {
    const b = this.room(end - start + 3);
    if (this.count++ > 0) b[this.at++] = COMMA;
    let at = this.at;
    b[at++] = QUOTE;
    for (let i = start; i < end; i++) b[at++] = text[i]!; // ids are short: no view made for each
    b[at++] = QUOTE;
    this.at = at;
  }

  addString(id: string): void {
    const json = JSON.stringify(id);
    const b = this.room(json.length * 3 + 1);
    if (this.count++ > 0) b[this.at++] = COMMA;
    this.at += b.write(json, this.at, 'utf8');
  }

  /** The ids written so far. */
  ids(): string[] {
    return this.count === 0 ? [] : (JSON.parse(this.finish().json.toString('utf8')) as IdList).ids;
  }

  /** The stored text of the ids so far. */
  finish(): IdsText {
    const b = this.room(IDS_CLOSE.length);
    IDS_CLOSE.copy(b, this.at);
    return { json: b.subarray(0, this.at + IDS_CLOSE.length), count: this.count };
  }

  /** The buffer, with room for `bytes` more (opened with `{"ids":[` at first). */
  private room(bytes: number): Buffer {
    if (!this.buf) {
      this.buf = Buffer.allocUnsafe(Math.max(16 * 1024, IDS_OPEN.length + bytes + IDS_CLOSE.length));
      this.at = IDS_OPEN.copy(this.buf, 0);
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
 * A line read back: its ChunkLine, or (one compact row that passed its checks) its custom id
 * as JSON text, e.g. `"r0"` with its quotes: what JSON.stringify makes of the id.
 */
export type ReadLine = ChunkLine | string;

const plainRow = (l: ChunkLine): boolean => l[1] === 1 && l[2] === 1 && l[3] === undefined;

export function storedLines(lines: ChunkLines): string | Buffer {
  if ('json' in lines) return lines.json;
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every(plainRow)) return JSON.stringify(lines);
  return JSON.stringify({ ids: lines.map((l) => l[0]) } satisfies IdList);
}

/** A chunk's lines from their stored form (none when absent). */
export function readLines(stored: string | null | undefined): readonly ReadLine[] {
  if (!stored) return [];
  if (stored.startsWith(IDS_TEXT_OPEN)) return idTexts(stored);
  const value = JSON.parse(stored) as ChunkLine[] | RowRange;
  if (Array.isArray(value)) return value;
  const lines: string[] = new Array(value.rows);
  for (let i = 0; i < value.rows; i++) lines[i] = `"${value.first + i}"`;
  return lines;
}

const IDS_TEXT_OPEN = '{"ids":[';

/**
 * The ids form's ids as their JSON texts, sliced where they lie. The text is JSON.stringify's
 * (storedLines, IdsJsonWriter: tested), so an id is a quote, characters or escapes, a quote,
 * and ids are separated by single commas; anything else is refused, not misread.
 */
function idTexts(stored: string): string[] {
  const ids: string[] = [];
  let at = IDS_TEXT_OPEN.length;
  if (stored.charCodeAt(at) === CLOSE_BRACKET) return expectEnd(stored, at, ids);
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
    if (next === CLOSE_BRACKET) return expectEnd(stored, at, ids);
    if (next !== COMMA) throw new Error(`stored ids: a comma expected at ${at}`);
    at++;
  }
}

function expectEnd(stored: string, at: number, ids: string[]): string[] {
  if (stored.length !== at + 2 || stored.charCodeAt(at + 1) !== CLOSE_BRACE) throw new Error(`stored ids: the end expected at ${at}`);
  return ids;
}

const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/** How many lines of a chunk have rows (the others failed their checks at upload). */
export function linesWithRows(lines: RowRange | IdsText | readonly ReadLine[]): number {
  if ('count' in lines) return lines.count;
  if (!('length' in lines)) return lines.rows;
  let n = 0;
  for (const l of lines) if (typeof l === 'string' || l[1] > 0) n++;
  return n;
}
