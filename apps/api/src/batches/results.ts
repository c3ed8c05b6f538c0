/**
 * PURE: one chunk's lines, outcome and outputs → its NDJSON result lines (UTF-8 bytes), in
 * input order, in pieces of about RESULT_PIECE_BYTES. Outputs mirror each line's form:
 * tensors for tensor lines, `{name: [row values]}` for compact ones.
 *
 * Pieces, so that whoever writes them lets the event loop run between two: a chunk of wide
 * outputs (16,384 lines of 768 numbers: 12 M numbers' text) is seconds of work, which as
 * one piece held up every other request of the API process meanwhile. Lines are joined into
 * a string of up to TEXT_CHARS characters and encoded into the piece's Buffer at once (no list
 * of a whole piece's strings joined, then encoded again; no write a line either), and values are
 * read from the outputs' bytes a block of rows at a time (no array of every value).
 */
import { exactJson, jsonValueSlicer, parseMarker, rowElements, type JobError, type JsonValue, type RawTensor } from '@maas/shared';
import type { ReadLines } from './chunk-lines.js';

/** Bytes of result lines a piece holds before it is handed on (at most one line more). */
export const RESULT_PIECE_BYTES = 256 * 1024;

/**
 * The version of the result lines' bytes as this file makes them (their text, the numbers'
 * digits, the messages of lines not run). It is part of the results' ETag, so a download
 * resumed against a process that makes other bytes (a rolling update) gets the whole answer
 * again, not a part of other bytes joined to the first. Raise it with any change to the bytes
 * (results.test.ts pins them: its "bytes of the format" test fails until both are updated).
 */
export const RESULTS_FORMAT = 1;

/** Characters of result lines joined into one string before they are encoded (see `chunkResultPieces`). */
const TEXT_CHARS = 16 * 1024;

/** A Buffer that grows as lines are appended. */
class GrowingBytes {
  private buf: Buffer;
  private at = 0;
  constructor(estimate: number) {
    this.buf = Buffer.allocUnsafe(Math.max(256, estimate));
  }
  /** Text (whole lines), as UTF-8 (a UTF-16 unit is at most 3 bytes). */
  line(s: string): void {
    const most = s.length * 3;
    if (this.at + most > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + most));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    this.at += this.buf.write(s, this.at, 'utf8');
  }
  get length(): number {
    return this.at;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

interface OutputValues {
  o: RawTensor;
  /** the output's name as a JSON string */
  key: string;
  /** its values [from, to) (flat, row-major) */
  slice: (from: number, to: number) => JsonValue[];
  per: number;
  /** whether its JSON values are numbers, booleans, null or exact-integers.ts markers (no comma inside one: no client's strings) */
  plain: boolean;
}

/** Values whose text one JSON.stringify makes (a block of rows). */
const VALUES_PER_BLOCK = 16_384;

/**
 * Each row's values of rows [from, to) as JSON text without brackets: one JSON.stringify of the
 * block's values, cut at the commas. The stringifier writes digits into one string instead of
 * allocating a string a number (`String(v)`: the shortest text of a float32 read as a double):
 * 117–123 against 194–222 ns a value here (the values from `jsonValueSlicer`); a chunk of 8,192 lines of 2 values 7.8–12.0 → 5.8–8.3
 * ms, of 256 lines of 768 values 56–74 → 32–38 ms. The text is JSON.stringify's, byte for byte
 * (non-finite numbers → null), either way, but for what `exactJson` writes exactly (INT64 past
 * 2^53, −0 as -0.0). Strings may hold commas, so an output of strings is
 * written a row at a time.
 */
function rowTexts({ slice, per, plain }: OutputValues, from: number, to: number): string[] {
  const texts = new Array<string>(to - from);
  if (!plain || per === 0) {
    for (let r = from; r < to; r++) texts[r - from] = per === 0 ? '' : JSON.stringify(slice(r * per, (r + 1) * per)).slice(1, -1);
    return texts;
  }
  // INT64/UINT64 values past 2^53 written exactly (shared tensors/exact-integers.ts): digits, no commas.
  const text = exactJson(JSON.stringify(slice(from * per, to * per)));
  let start = 1;
  for (let r = 0; r < to - from; r++) {
    let end = start;
    for (let k = 1; k < per; k++) end = text.indexOf(',', end) + 1;
    end = r === to - from - 1 ? text.length - 1 : text.indexOf(',', end);
    texts[r] = text.slice(start, end);
    start = end + 1;
  }
  return texts;
}

/** Each output's row texts, made a block of rows at a time as the lines ask for them. */
class RowTexts {
  private from = 0;
  private to = 0;
  private blocks: string[][] = [];
  private readonly blockRows: number;
  constructor(private readonly values: readonly OutputValues[], private readonly rows: number) {
    const perRow = values.reduce((n, v) => n + v.per, 0);
    this.blockRows = Math.max(1, Math.floor(VALUES_PER_BLOCK / Math.max(1, perRow)));
  }
  /** Output k's values of row `row`. */
  of(k: number, row: number): string {
    if (row < this.from || row >= this.to) {
      this.from = row;
      this.to = Math.min(this.rows, row + this.blockRows);
      this.blocks = this.values.map((v) => rowTexts(v, this.from, this.to));
    }
    return this.blocks[k]![row - this.from]!;
  }
}

/**
 * A compact line's result, `{"custom_id":…,"outputs":{"name":[…],…}}\n`, written directly:
 * byte for byte what JSON.stringify makes of that object (but −0 and INT64 past 2^53, written
 * exactly: exact-integers.ts), without building it for each of a million lines.
 */
function compactLine(customIdJson: string, values: readonly OutputValues[], texts: RowTexts, row: number): string {
  let s = `{"custom_id":${customIdJson},"outputs":{`;
  for (let k = 0; k < values.length; k++) s += `${k === 0 ? '' : ','}${values[k]!.key}:[${texts.of(k, row)}]`;
  return s + '}}\n';
}

/**
 * A tensor line's result, `{"custom_id":…,"outputs":[{"name":…,"datatype":…,"shape":[rows,…],"data":[…]},…]}\n`,
 * its data the row texts of its rows joined: byte for byte JSON.stringify's text of that
 * object (tested; −0 and INT64 past 2^53 written exactly), without an array of values and a tensor object made for each line.
 */
function tensorLine(customIdJson: string, values: readonly OutputValues[], texts: RowTexts, row: number, rows: number): string {
  // Rows outer, outputs inner: the row texts are made a block of rows at a time for every output.
  const data = values.map(() => '');
  for (let r = row; r < row + rows; r++) {
    for (let k = 0; k < values.length; k++) if (values[k]!.per > 0) data[k] += r === row ? texts.of(k, r) : `,${texts.of(k, r)}`;
  }
  let s = `{"custom_id":${customIdJson},"outputs":[`;
  for (let k = 0; k < values.length; k++) {
    const { o, key } = values[k]!;
    s += `${k === 0 ? '' : ','}{"name":${key},"datatype":"${o.datatype}","shape":${JSON.stringify([rows, ...o.shape.slice(1)])},"data":[${data[k]}]}`;
  }
  return s + ']}\n';
}

/**
 * The chunk's result lines, one per input line, as NDJSON bytes in pieces of about
 * `pieceBytes`. A line given as a string is its custom id's JSON text, of one row in the form
 * `compactIds` says (chunk-lines.ts). Every line is byte for byte JSON.stringify's text of its
 * object, but −0 and INT64 past 2^53, written exactly (exact-integers.ts).
 * `failedOnly`: the lines that failed alone (`?failed=true`), which need no outputs (pass none).
 */
export function* chunkResultPieces(
  { lines, compactIds }: ReadLines, marker: string | null, outputs: readonly RawTensor[], pieceBytes = RESULT_PIECE_BYTES, failedOnly = false,
): Generator<Buffer> {
  const outcome = marker ? parseMarker(marker) : undefined;
  const notRun: JobError =
    outcome?.kind === 'f' ? outcome.error ?? { type: 'inference-failed', message: 'the chunk failed' }
    : outcome?.kind === 'c' ? { type: 'canceled', message: 'the batch was canceled before this line ran' }
    : { type: 'not-run', message: 'the batch ended before this line ran' };
  const ran = outcome?.kind === 's' || outcome?.kind === 'p';
  // Rows whose run failed ('p'): their lines are errors, and the outputs hold the other rows only.
  const rowErrors = outcome?.rowErrors;
  let skipped = 0;
  const values: OutputValues[] = ran
    ? outputs.map((o) => ({ o, key: JSON.stringify(o.name), slice: jsonValueSlicer(o), per: rowElements(o.shape), plain: o.datatype !== 'BYTES' }))
    : [];
  const texts = new RowTexts(values, outputs[0]?.shape[0] ?? 0);
  const piece = () => new GrowingBytes(Math.min(pieceBytes, lines.length * 64));
  let out = piece();
  /**
   * Lines made but not yet in `out`, as one string: one UTF-8 write for many lines (a write a
   * line cost 40 % of the rendering). Written once it could fill the piece (a character is at
   * most 3 bytes), so a piece still ends within one line past `pieceBytes`, or once it is long.
   */
  let text = '';
  let row = 0;
  const notRunJson = JSON.stringify(notRun);
  for (const line of lines) {
    // The custom id as JSON text: a string line is already (chunk-lines.ts).
    let customIdJson: string, rows: number, compact: 0 | 1, error: JobError | undefined;
    if (typeof line === 'string') {
      customIdJson = line;
      rows = 1;
      compact = compactIds ? 1 : 0;
      error = undefined;
    } else {
      customIdJson = JSON.stringify(line[0]);
      [, rows, compact, error] = line;
    }
    const rowError = rowErrors && !error ? rowErrors.get(row + skipped) : undefined;
    if (error || !ran) {
      text += `{"custom_id":${customIdJson},"error":${error ? JSON.stringify(error) : notRunJson}}\n`;
    } else if (rowError) {
      text += `{"custom_id":${customIdJson},"error":${JSON.stringify(rowError)}}\n`;
      skipped += rows;
    } else {
      // a line that ran (not asked for when only the failed ones are)
      if (!failedOnly) text += compact ? compactLine(customIdJson, values, texts, row) : tensorLine(customIdJson, values, texts, row, rows);
      row += rows;
    }
    if (out.length + 3 * text.length >= pieceBytes || text.length >= TEXT_CHARS) {
      out.line(text);
      text = '';
      if (out.length >= pieceBytes) {
        yield out.bytes();
        out = piece();
      }
    }
  }
  if (text.length > 0) out.line(text);
  if (out.length > 0) yield out.bytes();
}
