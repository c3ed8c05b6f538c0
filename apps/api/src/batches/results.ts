/**
 * PURE: one chunk's lines, outcome and outputs → its NDJSON result lines (UTF-8 bytes), in
 * input order, in pieces of about RESULT_PIECE_BYTES. Outputs mirror each line's form:
 * tensors for tensor lines, `{name: [row values]}` for compact ones.
 *
 * Pieces, so that whoever writes them lets the event loop run between two: a chunk of wide
 * outputs (16,384 lines of 768 numbers: 12 M numbers' text) is seconds of work, which as
 * one piece held up every other request of the API process meanwhile. Each line is encoded
 * into the piece's Buffer as it is made (no list of strings joined, then encoded again), and
 * values are read from the outputs' bytes as they are written (no array of every value).
 */
import { jsonValueReader, parseMarker, rowElements, type ChunkLine, type JobError, type JsonValue, type RawTensor } from '@maas/shared';

/** Bytes of result lines a piece holds before it is handed on (at most one line more). */
export const RESULT_PIECE_BYTES = 256 * 1024;

/** A Buffer that grows as lines are appended. */
class GrowingBytes {
  private buf: Buffer;
  private at = 0;
  constructor(estimate: number) {
    this.buf = Buffer.allocUnsafe(Math.max(256, estimate));
  }
  /** One line, as UTF-8 (a UTF-16 unit is at most 3 bytes). */
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

/** A value as JSON.stringify writes it (non-finite numbers become null). */
const json = (v: JsonValue): string =>
  typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : typeof v === 'boolean' ? String(v) : JSON.stringify(v);

interface OutputValues {
  o: RawTensor;
  /** the output's name as a JSON string */
  key: string;
  at: (j: number) => JsonValue;
  per: number;
}

/**
 * A compact line's result, `{"custom_id":…,"outputs":{"name":[…],…}}\n`, written directly:
 * byte for byte what JSON.stringify makes of that object, without building it for each of a
 * million lines.
 */
function compactLine(customId: string, values: readonly OutputValues[], row: number): string {
  let s = `{"custom_id":${JSON.stringify(customId)},"outputs":{`;
  for (let k = 0; k < values.length; k++) {
    const { key, at, per } = values[k]!;
    s += k === 0 ? `${key}:[` : `,${key}:[`;
    for (let j = row * per, end = j + per; j < end; j++) s += j === row * per ? json(at(j)) : `,${json(at(j))}`;
    s += ']';
  }
  return s + '}}\n';
}

/** The chunk's result lines, one per input line, as NDJSON bytes in pieces of about `pieceBytes`. */
export function* chunkResultPieces(
  lines: readonly ChunkLine[], marker: string | null, outputs: readonly RawTensor[], pieceBytes = RESULT_PIECE_BYTES,
): Generator<Buffer> {
  const outcome = marker ? parseMarker(marker) : undefined;
  const notRun: JobError =
    outcome?.kind === 'f' ? outcome.error ?? { type: 'inference-failed', message: 'the chunk failed' }
    : outcome?.kind === 'c' ? { type: 'canceled', message: 'the batch was canceled before this line ran' }
    : { type: 'not-run', message: 'the batch ended before this line ran' };
  const values: OutputValues[] = outcome?.kind === 's'
    ? outputs.map((o) => ({ o, key: JSON.stringify(o.name), at: jsonValueReader(o), per: rowElements(o.shape) }))
    : [];
  const piece = () => new GrowingBytes(Math.min(pieceBytes, lines.length * 64));
  let out = piece();
  let row = 0;
  for (const [customId, rows, compact, error] of lines) {
    if (error || outcome?.kind !== 's') {
      out.line(JSON.stringify({ custom_id: customId, error: error ?? notRun }) + '\n');
    } else {
      if (compact) {
        out.line(compactLine(customId, values, row));
      } else {
        const tensors = values.map(({ o, at, per }) => ({
          name: o.name,
          datatype: o.datatype,
          shape: [rows, ...o.shape.slice(1)],
          data: Array.from({ length: rows * per }, (_, i) => at(row * per + i)),
        }));
        out.line(JSON.stringify({ custom_id: customId, outputs: tensors }) + '\n');
      }
      row += rows;
    }
    if (out.length >= pieceBytes) {
      yield out.bytes();
      out = piece();
    }
  }
  if (out.length > 0) yield out.bytes();
}
