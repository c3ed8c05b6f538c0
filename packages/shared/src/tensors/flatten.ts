/** Nested or flat KServe `data` → flat row-major values, checked against the declared shape. */
import { elementCount } from './raw.js';

export type FlattenResult = { ok: true; values: unknown[] } | { ok: false; message: string };

/**
 * Accepts `data` flat (length = product of shape) or nested to exactly the shape's depth
 * (`[[1,2],[3,4]]` for `[2,2]`). Anything in between is rejected with the offending index.
 */
export function flattenData(data: unknown[], shape: readonly number[]): FlattenResult {
  const total = elementCount(shape);
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (!nested) {
    if (data.length !== total) {
      return { ok: false, message: `data has ${data.length} elements but shape [${shape.join(', ')}] needs ${total}` };
    }
    for (let i = 0; i < data.length; i++) {
      if (Array.isArray(data[i])) return { ok: false, message: `data[${i}] is an array but data[0] is not` };
    }
    return { ok: true, values: data };
  }
  const values: unknown[] = [];
  const walk = (node: unknown, depth: number, where: string): string | undefined => {
    if (depth === shape.length) {
      if (Array.isArray(node)) return `${where} nests deeper than shape [${shape.join(', ')}]`;
      values.push(node);
      return undefined;
    }
    if (!Array.isArray(node)) return `${where} should be an array of ${shape[depth]} elements`;
    if (node.length !== shape[depth]) return `${where} has ${node.length} elements, shape says ${shape[depth]}`;
    for (let i = 0; i < node.length; i++) {
      const err = walk(node[i], depth + 1, `${where}[${i}]`);
      if (err) return err;
    }
    return undefined;
  };
  const err = walk(data, 0, 'data');
  return err ? { ok: false, message: err } : { ok: true, values };
}
