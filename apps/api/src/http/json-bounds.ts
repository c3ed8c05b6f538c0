/**
 * PURE: the bounds JSON text must keep before `JSON.parse` reads it: how deeply it nests and
 * how many arrays and objects it holds, measured without recursion, on the text before it is
 * parsed (and the depth on a parsed value too). V8 parses arrays nested 10,000 deep without
 * trouble, but recursive code that later meets such a value (JSON.stringify,
 * Array.prototype.flat, a logger) overflows the stack; parsing 31 million nested brackets takes
 * V8 half a minute and gigabytes, with the event loop stopped; and every array or object costs
 * `JSON.parse` about 13 times what a number does (4 million `[1]`: 3.3 s and 270 MB here; 20
 * million `{}`, 61 KB gzipped: 18 s and 2.9 GB). So a body (or batch line, or binary header) of
 * BOUNDS_SCAN_MIN_BYTES or more is scanned first (`refusedBeforeParse`), and refused at the
 * first bracket past either bound, before `JSON.parse` sees it.
 */
import { ValidationError } from '@maas/shared';

/** Deepest nesting a request body (or batch line) may have; a tensor needs a few levels per dimension. */
export const MAX_JSON_DEPTH = 64;

/**
 * Most arrays and objects one request body (or batch line, or binary header) may hold, as a
 * gRPC request holds at most 2^20 field occurrences (grpc/wire-bounds.ts): a request's objects
 * are its tensors (MAX_TENSORS each way) and their parameters, and nested `data` takes a list
 * a row of its innermost dimension (a [1,224,224,3] image 50,401). At the bound `JSON.parse`
 * takes about 0.8 s and 70 MB; larger tensors go as flat lists, or in the binary extension.
 */
export const MAX_JSON_CONTAINERS = 2 ** 20;

/**
 * Bodies (and batch lines) shorter than this are parsed without the scan: they hold at most
 * 8,192 brackets, which JSON.parse reads in a few milliseconds at worst, and the parsed value's
 * depth is checked after (`nestsDeeperThan`). A single-row job's 700 bytes are not scanned (1 µs).
 */
export const BOUNDS_SCAN_MIN_BYTES = 16 * 1024;

const TOO_DEEP = `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`;
const TOO_MANY = `the JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects (send large tensors' data flat, row-major, or in the binary extension)`;

/** The 400 for a body nesting deeper than MAX_JSON_DEPTH. */
export const tooDeep = (): ValidationError => new ValidationError([{ path: 'body', message: TOO_DEEP }]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Which bound JSON text passes: its depth or its count of arrays and objects. */
export type JsonBound = 'depth' | 'containers';

/**
 * The bound the JSON text in `bytes` passes, or undefined: more than `maxDepth` arrays/objects
 * open at once, or more than `maxContainers` in all (brackets inside strings do not count).
 * Whether it is valid JSON is the parser's business: this only counts, a byte at a time, and
 * stops at the first bracket too many.
 */
export function jsonBoundPassed(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH, maxContainers = MAX_JSON_CONTAINERS): JsonBound | undefined {
  let depth = 0;
  let containers = 0;
  for (let i = 0, n = bytes.length; i < n; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped.
      for (i++; i < n; i++) {
        const s = bytes[i]!;
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return 'depth';
      if (++containers > maxContainers) return 'containers';
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return undefined;
}

/**
 * What a body, binary header or batch line is refused for before `JSON.parse` reads it
 * (BOUNDS_SCAN_MIN_BYTES or more of it, past MAX_JSON_DEPTH or MAX_JSON_CONTAINERS: a 400
 * naming the bound), or undefined. Text (a batch line's general path) is scanned as its UTF-8
 * bytes, a copy of a line JSON.parse is about to read anyway.
 */
export function refusedBeforeParse(json: Uint8Array | string): ValidationError | undefined {
  if (json.length < BOUNDS_SCAN_MIN_BYTES) return undefined;
  const bound = jsonBoundPassed(typeof json === 'string' ? Buffer.from(json, 'utf8') : json);
  if (bound === undefined) return undefined;
  return new ValidationError([{ path: 'body', message: bound === 'depth' ? TOO_DEEP : TOO_MANY }]);
}

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
