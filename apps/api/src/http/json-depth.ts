/**
 * PURE: how deeply JSON nests, measured without recursion, both on the text before it is
 * parsed and on a parsed value. V8 parses arrays nested 10,000 deep without trouble, but
 * recursive code that later meets such a value (JSON.stringify, Array.prototype.flat, a
 * logger) overflows the stack; and parsing 31 million nested brackets takes V8 half a minute
 * and gigabytes, with the event loop stopped. So a body (or batch line, or binary header) of
 * DEPTH_SCAN_MIN_BYTES or more is scanned first (`tooDeepToParse`), and refused at the first
 * bracket past the limit, before `JSON.parse` sees it.
 */
import { ValidationError } from '@maas/shared';

/** Deepest nesting a request body (or batch line) may have; a tensor needs a few levels per dimension. */
export const MAX_JSON_DEPTH = 64;

/**
 * Bodies (and batch lines) shorter than this are parsed without the scan: they hold at most
 * 8,192 brackets, which JSON.parse reads in a few milliseconds at worst, and the parsed value's
 * depth is checked after (`nestsDeeperThan`). A single-row job's 700 bytes are not scanned (1 µs).
 */
export const DEPTH_SCAN_MIN_BYTES = 16 * 1024;

/** The 400 for a body nesting deeper than MAX_JSON_DEPTH. */
export const tooDeep = (): ValidationError => new ValidationError([{ path: 'body', message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` }]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * True when the JSON text in `bytes` opens more than `max` arrays/objects at once (brackets
 * inside strings do not count). Whether it is valid JSON is the parser's business: this only
 * counts, a byte at a time, and stops at the first bracket too many.
 */
export function bytesNestDeeperThan(bytes: Uint8Array, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
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
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether a body, binary header or batch line must be refused before `JSON.parse` reads it:
 * DEPTH_SCAN_MIN_BYTES or more of it, nesting past MAX_JSON_DEPTH. Text (a batch line's general
 * path) is scanned as its UTF-8 bytes, a copy of a line JSON.parse is about to read anyway.
 */
export function tooDeepToParse(json: Uint8Array | string): boolean {
  if (json.length < DEPTH_SCAN_MIN_BYTES) return false;
  return bytesNestDeeperThan(typeof json === 'string' ? Buffer.from(json, 'utf8') : json);
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
