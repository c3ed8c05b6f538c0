/**
 * PURE: one chunk's lines, outcome and outputs → its NDJSON result lines, in input order.
 * Outputs mirror each line's form: tensors for tensor lines, `{name: [row values]}` for
 * compact ones.
 */
import { parseMarker, rowElements, toJsonValues, type ChunkLine, type JobError, type RawTensor } from '@maas/shared';

const errorLine = (customId: string, error: JobError) => JSON.stringify({ custom_id: customId, error }) + '\n';

export function chunkResultLines(lines: readonly ChunkLine[], marker: string | null, outputs: readonly RawTensor[]): string[] {
  const outcome = marker ? parseMarker(marker) : undefined;
  const notRun: JobError =
    outcome?.kind === 'f' ? outcome.error ?? { type: 'inference-failed', message: 'the chunk failed' }
    : outcome?.kind === 'c' ? { type: 'canceled', message: 'the batch was canceled before this line ran' }
    : { type: 'not-run', message: 'the batch ended before this line ran' };
  const values = outcome?.kind === 's' ? outputs.map((o) => ({ o, v: toJsonValues(o), per: rowElements(o.shape) })) : [];
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
      const obj: Record<string, unknown> = {};
      for (const { o, v, per } of values) obj[o.name] = v.slice(row * per, (row + 1) * per);
      out.push(JSON.stringify({ custom_id: customId, outputs: obj }) + '\n');
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
