/**
 * PURE: the KServe classification extension, as Triton answers it. A numeric output of shape
 * [rows, ...] becomes a BYTES [rows, k] tensor of "value:index:label" (label omitted without
 * labels.txt), best first: each row's elements are its classes, whatever their shape
 * ([rows, 1000, 1, 1] has 1,000; [rows] has one), and a value is written as C's `%f`
 * (Triton's `std::to_string`: "0.250000", "inf", "nan"), an integer as its digits.
 */
import { halfValue, typedView, type RawTensor } from '@maas/shared';

export function classify(t: RawTensor, k: number, labels: readonly string[] | undefined): RawTensor {
  const rows = t.shape[0] ?? 0;
  const classes = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = typedView(t);
  const half = t.datatype === 'FP16'; // bits: read as their values
  const float = half || t.datatype === 'FP32' || t.datatype === 'FP64';
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
      const s = score(i);
      const value = float ? printfFixed(s as number) : String(s);
      const label = labels?.[i];
      out.push(label === undefined ? `${value}:${i}` : `${value}:${i}:${label}`);
    }
  }
  return { name: t.name, datatype: 'BYTES', shape: [rows, kk], data: out };
}

/**
 * `value` as C's printf("%f") writes it: six decimals, an exact tie rounded to even (JavaScript's
 * toFixed rounds it up), every integer digit, and "inf", "-inf", "nan" for what has none.
 */
export function printfFixed(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const a = Math.abs(value);
  if (a >= 1e21) return `${sign}${BigInt(a)}.000000`; // toFixed switches to exponents there
  let text = a.toFixed(6);
  // A tie is a value whose exact decimal ends at its seventh digit, a 5 (0.0078125 = 1/128): no
  // other double lies within 1e-30 of one at least 1e-7, so thirty digits tell.
  const exact = a.toFixed(30);
  const point = exact.indexOf('.');
  if (exact[point + 7] === '5' && /^0+$/.test(exact.slice(point + 8)) && Number(text.at(-1)) % 2 === 1) {
    text = exact.slice(0, point + 7); // the even neighbour, below
  }
  return sign + text;
}
