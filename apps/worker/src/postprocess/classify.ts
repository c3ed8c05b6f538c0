/**
 * PURE: the KServe classification extension. A numeric [rows, classes] output becomes a
 * BYTES [rows, k] tensor of "value:index:label" (label omitted without labels.txt), best first.
 */
import { halfValue, typedView, type RawTensor } from '@maas/shared';

export function classify(t: RawTensor, k: number, labels: readonly string[] | undefined): RawTensor {
  const rows = t.shape[0] ?? 0;
  const classes = t.shape[1] ?? 0;
  const values = typedView(t);
  const half = t.datatype === 'FP16'; // bits: read as their values
  const kk = Math.min(k, classes);
  const out: string[] = [];
  const order = Array.from({ length: classes }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    // INT64/UINT64 scores compared and written as the integers they are (a double would round past 2^53).
    const score = (i: number): number | bigint => (typeof values[base + i] === 'bigint' ? values[base + i] as bigint
      : half ? halfValue(values[base + i] as number) : Number(values[base + i]));
    // Stable sort: equal scores keep the lower index first; NaN ranks below every number (it
    // compares false with all, which would leave the order inconsistent and lose the best).
    const top = [...order].sort((a, b) => {
      const x = score(a);
      const y = score(b);
      const [xNaN, yNaN] = [Number.isNaN(x), Number.isNaN(y)];
      if (xNaN || yNaN) return xNaN === yNaN ? a - b : xNaN ? 1 : -1;
      return x < y ? 1 : x > y ? -1 : a - b;
    }).slice(0, kk);
    for (const i of top) {
      const label = labels?.[i];
      out.push(label === undefined ? `${score(i)}:${i}` : `${score(i)}:${i}:${label}`);
    }
  }
  return { name: t.name, datatype: 'BYTES', shape: [rows, kk], data: out };
}
