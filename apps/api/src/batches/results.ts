/**
 * PURE: one chunk's lines, outcome and outputs → its NDJSON result lines (UTF-8 bytes), in
 * input order. Outputs mirror each line's form: tensors for tensor lines, `{name: [row
 * values]}` for compact ones.
 *
 * Each line is encoded into one growing Buffer as it is made, instead of a list of strings
 * joined (flattening thousands of concatenated strings) and then encoded as a whole.
 */
import { parseMarker, rowElements, toJsonValues, type ChunkLine, type JobError, type RawTensor } from '@maas/shared';

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
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** A value as JSON.stringify writes it (non-finite numbers become null). */
const json = (v: number | boolean | string): string =>
  typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : typeof v === 'boolean' ? String(v) : JSON.stringify(v);

interface OutputValues {
  o: RawTensor;
  /** the output's name as a JSON string */
  key: string;
  v: (number | boolean | string)[];
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
    const { key, v, per } = values[k]!;
    s += k === 0 ? `${key}:[` : `,${key}:[`;
    for (let j = row * per, end = j + per; j < end; j++) s += j === row * per ? json(v[j]!) : `,${json(v[j]!)}`;
    s += ']';
  }
  return s + '}}\n';
}

/** The chunk's result lines, one per input line, as NDJSON bytes. */
export function chunkResults(lines: readonly ChunkLine[], marker: string | null, outputs: readonly RawTensor[]): Buffer {
  const outcome = marker ? parseMarker(marker) : undefined;
  const notRun: JobError =
    outcome?.kind === 'f' ? outcome.error ?? { type: 'inference-failed', message: 'the chunk failed' }
    : outcome?.kind === 'c' ? { type: 'canceled', message: 'the batch was canceled before this line ran' }
    : { type: 'not-run', message: 'the batch ended before this line ran' };
  const values: OutputValues[] = outcome?.kind === 's'
    ? outputs.map((o) => ({ o, key: JSON.stringify(o.name), v: toJsonValues(o), per: rowElements(o.shape) }))
    : [];
  const out = new GrowingBytes(lines.length * 64);
  let row = 0;
  for (const [customId, rows, compact, error] of lines) {
    if (error || outcome?.kind !== 's') {
      out.line(JSON.stringify({ custom_id: customId, error: error ?? notRun }) + '\n');
      continue;
    }
    if (compact) {
      out.line(compactLine(customId, values, row));
    } else {
      const tensors = values.map(({ o, v, per }) => ({
        name: o.name,
        datatype: o.datatype,
        shape: [rows, ...o.shape.slice(1)],
        data: v.slice(row * per, (row + rows) * per),
      }));
      out.line(JSON.stringify({ custom_id: customId, outputs: tensors }) + '\n');
    }
    row += rows;
  }
  return out.bytes();
}
