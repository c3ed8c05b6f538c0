/**
 * PURE: one chunk's lines, outcome and outputs → its NDJSON result lines, in input order.
 * Outputs mirror each line's form: tensors for tensor lines, `{name: [row values]}` for
 * compact ones.
 */
import { parseMarker, rowElements, toJsonValues, type ChunkLine, type JobError, type RawTensor } from '@maas/shared';

const errorLine = (customId: string, error: JobError) => JSON.stringify({ custom_id: customId, error }) + '\n';

/** A value as JSON.stringify writes it (non-finite numbers become null). */
const json = (v: number | boolean | string): string =>
  typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : typeof v === 'boolean' ? String(v) : JSON.stringify(v);

/**
 * A compact line's result, `{"custom_id":…,"outputs":{"name":[…],…}}\n`, written directly:
 * byte for byte what JSON.stringify makes of that object, without building it for each of a
 * million lines.
 */
function compactLine(customId: string, values: readonly { key: string; v: readonly (number | boolean | string)[]; per: number }[], row: number): string {
  let s = `{"custom_id":${JSON.stringify(customId)},"outputs":{`;
  for (let k = 0; k < values.length; k++) {
    const { key, v, per } = values[k]!;
    s += k === 0 ? `${key}:[` : `,${key}:[`;
    for (let j = row * per, end = j + per; j < end; j++) s += j === row * per ? json(v[j]!) : `,${json(v[j]!)}`;
    s += ']';
  }
  return s + '}}\n';
}

export function chunkResultLines(lines: readonly ChunkLine[], marker: string | null, outputs: readonly RawTensor[]): string[] {
  const outcome = marker ? parseMarker(marker) : undefined;
  const notRun: JobError =
    outcome?.kind === 'f' ? outcome.error ?? { type: 'inference-failed', message: 'the chunk failed' }
    : outcome?.kind === 'c' ? { type: 'canceled', message: 'the batch was canceled before this line ran' }
    : { type: 'not-run', message: 'the batch ended before this line ran' };
  const values = outcome?.kind === 's' ? outputs.map((o) => ({ o, key: JSON.stringify(o.name), v: toJsonValues(o), per: rowElements(o.shape) })) : [];
  const out: string[] = [];
  let row = 0;
  for (const [customId, rows, compact, error] of lines) {
    if (error) {
      out.push(errorLine(customId, error));
      continue;
    }
    if (outcome?.kind !== 's') {
      out.push(errorLine(customId, notRun));
      continue;
    }
    if (compact) {
      out.push(compactLine(customId, values, row));
    } else {
      const tensors = values.map(({ o, v, per }) => ({
        name: o.name,
        datatype: o.datatype,
        shape: [rows, ...o.shape.slice(1)],
        data: v.slice(row * per, (row + rows) * per),
      }));
      out.push(JSON.stringify({ custom_id: customId, outputs: tensors }) + '\n');
    }
    row += rows;
  }
  return out;
}
