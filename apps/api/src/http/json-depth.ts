/**
 * PURE: how deeply a parsed JSON value nests, measured without recursion. V8 parses
 * arrays nested 10,000 deep without trouble, but recursive code that later meets such a
 * value (JSON.stringify, Array.prototype.flat, a logger) overflows the stack: a request
 * is refused before any of that runs.
 */

/** Deepest nesting a request body (or batch line) may have; a tensor needs a few levels per dimension. */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests arrays/objects more than `max` levels deep (a scalar is depth 0). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false;
  const stack: { node: object; depth: number }[] = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > max) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      // Bytes (a binary tensor's data) are a leaf, however long.
      if (typeof c === 'object' && c !== null && !ArrayBuffer.isView(c)) stack.push({ node: c, depth: depth + 1 });
    }
  }
  return false;
}
