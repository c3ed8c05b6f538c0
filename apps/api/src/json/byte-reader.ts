/**
 * PURE: a cursor over JSON text as UTF-8 bytes, for the readers that take the common shapes of
 * tensor data without `JSON.parse` (batches/row-scan.ts: batch lines; http/tensor-json.ts:
 * large inference bodies). It reads strings without escapes, small integer lists and lists of
 * numbers straight into typed arrays, and skips any other value; whatever it does not take
 * exactly as `JSON.parse` would, it refuses (false), and its caller takes the general path.
 *
 * Numbers: a mantissa below 2^53 and a power of ten within 10^±22 are converted with one
 * exact IEEE operation (Clinger's fast path), which rounds exactly as `Number()` does. Into a
 * Float32Array, longer mantissas (17 digits is what programs print) are converted
 * approximately and kept only where that provably rounds to the same float32 (`float32Of`).
 * Anything else is handed to `Number()` itself.
 */

import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH } from '../http/json-bounds.js';
import { isUtf8 } from 'node:buffer';

/**
 * Where a list's values go: `into` from index `at`. Floats go into a Float32Array or a
 * Float64Array (`floats`), integers into an Int32Array (`integers`; an INT64 as two elements).
 */
export interface Place {
  into: Float32Array | Float64Array | Int32Array;
  at: number;
}

/** The largest integer `integers` reads: 15 digits, so exact in a double and within INT64. */
const MAX_INTEGER = 999_999_999_999_999;
const TWO_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);
const MAX_EXACT = 2 ** 53;
/**
 * Past MAX_EXACT the mantissa is summed with a rounding a step; below this it took at most 22
 * such steps, so with the two scalings after them the double is within 50 roundings (2^-53
 * each, relative) of the number, far inside APPROX_MARGIN.
 */
const MAX_APPROX_MANTISSA = 1e38;
const APPROX_MARGIN = 2 ** -40;

/**
 * The float32 that `Math.fround(Number(text))` gives for the number mantissa × 10^power, when
 * `mantissa` (summed in doubles, digit by digit) is past 2^53, as most numbers a program prints
 * are (`JSON.stringify` of a float32 or a random double: 17 digits); NaN when it cannot tell.
 * The double computed is within APPROX_MARGIN of the number, so the number and its nearest
 * double both lie in [low, high]; float32 rounding is monotonic, so when both ends round to
 * the same float32 that is the answer, and only a number within 2^-40 of a midpoint between
 * two float32s (about 1 in 30,000 values) is left to `Number()`. 34 against 93 ns a value of
 * such text, alone on a core.
 */
function float32Of(mantissa: number, power: number): number {
  let approx = mantissa;
  if (power < -22) approx = approx / POW10[22]! / POW10[-power - 22]!;
  else if (power < 0) approx /= POW10[-power]!;
  else if (power > 22) approx = approx * POW10[22]! * POW10[power - 22]!;
  else approx *= POW10[power]!;
  const low = Math.fround(approx * (1 - APPROX_MARGIN));
  return low === Math.fround(approx * (1 + APPROX_MARGIN)) ? low : NaN;
}

export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const MINUS = 0x2d;
export const PLUS = 0x2b;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const BACKSLASH = 0x5c;

/** The text of `line[start, end)`, read from the line's own Buffer when it is one (as uploads' lines are): a Buffer made for each string cost 147 against 74–97 ns a batch line's custom_id. */
export function textOf(line: Uint8Array, start: number, end: number): string {
  return Buffer.isBuffer(line) ? line.toString('utf8', start, end) : Buffer.from(line.buffer, line.byteOffset + start, end - start).toString('utf8');
}

/**
 * A cursor over JSON bytes, `b[pos, len)`; `string()` and `skipValue()` leave the last string's
 * or value's bounds (`strStart`, `strEnd`) for `is` and the caller. Only `floats` may read past
 * `len` (see there).
 */
export class ByteReader {
  strStart = 0;
  strEnd = 0;
  /** Arrays and objects in the values `skipValue` has passed over, all of them: what JSON.parse would be handed. */
  private skippedContainers = 0;

  constructor(
    private readonly b: Uint8Array,
    public pos: number,
    private readonly len: number,
  ) {}

  peek(): number {
    return this.pos < this.len ? this.b[this.pos]! : -1;
  }

  space(): void {
    const { b, len } = this;
    let pos = this.pos;
    for (; pos < len; pos++) {
      const c = b[pos]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    }
    this.pos = pos;
  }

  expect(ch: number): boolean {
    this.space();
    if (this.pos >= this.len || this.b[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  /** Skips a string without escapes or control characters; false otherwise. */
  string(): boolean {
    if (!this.expect(QUOTE)) return false;
    const { b, len } = this;
    const quote = QUOTE, backslash = BACKSLASH; // locals: see floats
    let high = 0;
    for (let pos = this.pos; pos < len; pos++) {
      const c = b[pos]!;
      if (c === quote) {
        // Bytes that are not UTF-8 are not read here (JSON.parse's path words the error).
        if (high !== 0 && !isUtf8(b.subarray(this.pos, pos))) return false;
        this.strStart = this.pos;
        this.strEnd = pos;
        this.pos = pos + 1;
        return true;
      }
      if (c === backslash || c < 0x20) return false;
      high |= c & 0x80;
    }
    return false;
  }

  /** True when the last string's bytes are `expected`. */
  is(expected: Uint8Array): boolean {
    const n = this.strEnd - this.strStart;
    if (n !== expected.length) return false;
    for (let i = 0; i < n; i++) if (this.b[this.strStart + i] !== expected[i]) return false;
    return true;
  }

  /**
   * Skips one JSON value of any kind and leaves its bytes' range in `strStart`/`strEnd`; false
   * when it plainly is not one. It finds where the value ends (strings, escapes and nesting
   * followed), not whether it is valid: whoever reads the range parses it (`JSON.parse`). A value
   * nesting deeper than MAX_JSON_DEPTH, or taking the arrays and objects of all the values this
   * reader has skipped past MAX_JSON_CONTAINERS, is refused as one (http/json-bounds.ts): the
   * general path then refuses the whole text before parsing it.
   */
  skipValue(): boolean {
    this.space();
    const { b, len } = this;
    const start = this.pos;
    let pos = start;
    let depth = 0;
    do {
      if (pos >= len) return false;
      const c = b[pos]!;
      if (c === QUOTE) {
        for (pos++; ; pos++) {
          if (pos >= len) return false;
          const q = b[pos]!;
          if (q === QUOTE) break;
          if (q === BACKSLASH) pos++;
        }
        pos++;
      } else if (c === LBRACE || c === LBRACKET) {
        // Too deep or too many to be a request's: left to the general path, which refuses it before parsing.
        if (++depth > MAX_JSON_DEPTH || ++this.skippedContainers > MAX_JSON_CONTAINERS) return false;
        pos++;
      } else if (c === RBRACE || c === RBRACKET) {
        if (depth === 0) return false;
        depth--;
        pos++;
      } else if (depth > 0) {
        pos++;
      } else {
        // a number, true, false or null: up to the next delimiter
        while (pos < len && b[pos] !== COMMA && b[pos] !== RBRACE && b[pos] !== RBRACKET && b[pos] !== 0x20 && b[pos] !== 0x09 && b[pos] !== 0x0a && b[pos] !== 0x0d) pos++;
        if (pos === start) return false;
      }
    } while (depth > 0);
    this.strStart = start;
    this.strEnd = pos;
    this.pos = pos;
    return true;
  }

  /**
   * A list of up to `into.length` small non-negative integers in JSON (`[1, 32]`) into `into`;
   * their count, or -1 when it is not that (a fraction, an exponent or a sign is refused too:
   * the general path reads those).
   */
  ints(into: number[]): number {
    if (!this.expect(LBRACKET)) return -1;
    this.space();
    if (this.peek() === RBRACKET) {
      this.pos++;
      return 0;
    }
    const { b, len } = this;
    for (let n = 0; n < into.length; n++) {
      this.space();
      let pos = this.pos;
      let d = ((pos < len ? b[pos]! : -1) - ZERO) >>> 0;
      if (d >= 10) return -1;
      let value = 0;
      const first = pos;
      do {
        value = value * 10 + d;
        pos++;
        d = ((pos < len ? b[pos]! : -1) - ZERO) >>> 0;
      } while (d < 10 && pos - first < 9);
      if (d < 10 || (b[first] === ZERO && pos - first > 1)) return -1; // too long; a leading zero
      into[n] = value;
      this.pos = pos;
      if (this.expect(RBRACKET)) return n + 1;
      if (!this.expect(COMMA)) return -1;
    }
    return -1;
  }

  /**
   * Writes a comma-separated list of `count` JSON numbers (strict grammar) at `place`; false
   * when they are not that. One loop with the cursor in a local: it reads most of an NDJSON
   * upload's bytes (a method call per number cost a third of the line's time). There is no
   * bounds check a byte: past the buffer a byte reads as 0 (`| 0` of undefined), which no rule
   * accepts, and a number that runs past the line (into the next one, in the same buffer) ends
   * the scan, as nothing may follow a line's end; a digit is one unsigned comparison
   * (`(c - 0x30) >>> 0 < 10`). Both together: 22 against 28–33 ns a value of `toFixed(4)`
   * text, alone on a core.
   *
   * Values in the form programs print them compactly (`-?int(.frac)?`: no space, no exponent,
   * at most 15 digits) are read by a first, shorter loop: it has no branch for what they never
   * hold, and stores without reading back, as such a value (under 2^53 over a power of ten)
   * is finite in FP32 and FP64. At the first value that is not in that form it hands over to
   * the general loop below, which starts that value afresh: both read the same grammar into
   * the same values. Alone on a core, a `toFixed(4)` value: 23–36 ns, against 25–65 for the
   * general loop alone with the same locals and 48–50 before either (BENCHMARKS.md, round 14).
   */
  floats({ into, at }: Place, count: number): boolean {
    const { b, len } = this;
    // The bytes as locals: a module's constant costs a check a use (is it set yet?), which
    // took a quarter of this loop's time (29–36 against 43–44 ns a value).
    const comma = COMMA, minus = MINUS, zero = ZERO, dot = DOT;
    let pos = this.pos;
    let k = 0;
    for (; k < count; k++) {
      let p = pos;
      let c = b[p]! | 0;
      if (k > 0) {
        if (c !== comma) break;
        c = b[++p]! | 0;
      }
      const negative = c === minus;
      if (negative) c = b[++p]! | 0;
      let mantissa = 0;
      let scale = 0;
      let d = (c - zero) >>> 0;
      if (d === 0) {
        c = b[++p]! | 0;
      } else if (d < 10) {
        do {
          mantissa = mantissa * 10 + d;
          c = b[++p]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10);
      } else {
        break;
      }
      if (c === dot) {
        c = b[++p]! | 0;
        d = (c - zero) >>> 0;
        if (d >= 10) break;
        do {
          mantissa = mantissa * 10 + d;
          scale--;
          c = b[++p]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10);
      }
      // an exponent, a digit after a leading zero, too many digits, past the line: the general loop
      if (c === 0x65 || c === 0x45 || (c - zero) >>> 0 < 10 || mantissa >= MAX_EXACT || scale < -22 || p > len) break;
      const value = mantissa / POW10[-scale]!;
      into[at + k] = negative ? -value : value;
      pos = p;
    }
    if (k === count) {
      this.pos = pos;
      return true;
    }
    return this.floatsFrom(into, at, count, k, pos);
  }

  /**
   * Writes a comma-separated list of `count` JSON integers at `place`: one Int32Array element a
   * value, or with `wide` two (low word first: the memory of a little-endian BigInt64Array, so
   * an INT64 of at most 15 digits needs no BigInt made a value; a longer one, a hashed id, is
   * read exactly through one, and must lie within INT64). False when they are not that: a
   * fraction or an exponent (even `1.0`), a number of more than 15 digits (not `wide`), a value
   * outside `[min, max]` (or INT64), or bad JSON. Those lines take the general path (`JSON.parse`
   * with integers past 2^53 exact, then the request checks: json/request-json.ts), which reads
   * the same values where they are valid and words the error where not; integers of at most 15
   * digits are exact in a double, so both paths store the same bits. Spaces around the commas
   * are read (Python's `json.dumps` writes `[101, 2023]`).
   */
  integers({ into, at }: Place, count: number, wide: boolean, min: number, max: number): boolean {
    const { b, len } = this;
    const comma = COMMA, minus = MINUS, zero = ZERO, dot = DOT; // locals: see floats
    let pos = this.pos;
    for (let k = 0; k < count; k++) {
      let c = b[pos]! | 0;
      while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = b[++pos]! | 0;
      if (k > 0) {
        if (c !== comma) return false;
        c = b[++pos]! | 0;
        while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = b[++pos]! | 0;
      }
      const start = pos;
      const negative = c === minus;
      if (negative) c = b[++pos]! | 0;
      let value = 0;
      let d = (c - zero) >>> 0;
      if (d === 0) {
        c = b[++pos]! | 0;
      } else if (d < 10) {
        do {
          value = value * 10 + d;
          c = b[++pos]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10 && value <= MAX_INTEGER);
      } else {
        return false;
      }
      if (wide && value > MAX_INTEGER) {
        while ((c - zero) >>> 0 < 10) c = b[++pos]! | 0;
        if (c === dot || c === 0x65 || c === 0x45 || pos > len || pos - start > 20) return false;
        const big = BigInt(textOf(b, start, pos));
        if (big < INT64_MIN || big > INT64_MAX) return false;
        into[at + 2 * k] = Number(BigInt.asUintN(32, big)); // the Int32Array keeps its bits
        into[at + 2 * k + 1] = Number(BigInt.asIntN(32, big >> 32n));
        continue;
      }
      // a fraction, an exponent, a digit after a leading zero, too many digits, past the line
      if (c === dot || c === 0x65 || c === 0x45 || (c - zero) >>> 0 < 10 || value > MAX_INTEGER || pos > len) return false;
      if (negative) value = -value;
      if (value < min || value > max) return false;
      if (wide) {
        const high = Math.floor(value / TWO_32);
        into[at + 2 * k] = value - high * TWO_32; // 0 to 2^32 - 1: the Int32Array keeps its bits
        into[at + 2 * k + 1] = high;
      } else {
        into[at + k] = value;
      }
    }
    this.pos = pos;
    return true;
  }

  /** `floats` from its `k`th value on, at `pos` (before that value's comma): the whole grammar. */
  private floatsFrom(into: Place['into'], at: number, count: number, first: number, from: number): boolean {
    const { b } = this;
    const comma = COMMA, minus = MINUS, plus = PLUS, zero = ZERO, dot = DOT; // locals: see floats
    const fp32 = into instanceof Float32Array;
    let pos = from;
    for (let k = first; k < count; k++) {
      let c = b[pos]! | 0;
      while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = b[++pos]! | 0;
      if (k > 0) {
        if (c !== comma) return false;
        c = b[++pos]! | 0;
        while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = b[++pos]! | 0;
      }
      const start = pos;
      const negative = c === minus;
      if (negative) c = b[++pos]! | 0;
      let mantissa = 0;
      let scale = 0;
      let d = (c - zero) >>> 0;
      if (d === 0) {
        c = b[++pos]! | 0;
        d = (c - zero) >>> 0;
        if (d < 10) return false; // no leading zeros in JSON
      } else if (d < 10) {
        do {
          mantissa = mantissa * 10 + d;
          c = b[++pos]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10);
      } else {
        return false;
      }
      if (c === dot) {
        c = b[++pos]! | 0;
        d = (c - zero) >>> 0;
        if (d >= 10) return false;
        do {
          mantissa = mantissa * 10 + d;
          scale--;
          c = b[++pos]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10);
      }
      let exponent = 0;
      if (c === 0x65 || c === 0x45) {
        c = b[++pos]! | 0;
        const negExp = c === minus;
        if (negExp || c === plus) c = b[++pos]! | 0;
        d = (c - zero) >>> 0;
        if (d >= 10) return false;
        do {
          if (exponent < 100_000) exponent = exponent * 10 + d;
          c = b[++pos]! | 0;
          d = (c - zero) >>> 0;
        } while (d < 10);
        if (negExp) exponent = -exponent;
      }
      if (pos > this.len) return false;
      const power = scale + exponent;
      let value: number;
      if (mantissa < MAX_EXACT && power >= -22 && power <= 22) {
        value = power < 0 ? mantissa / POW10[-power]! : mantissa * POW10[power]!;
        if (negative) value = -value;
      } else if (fp32 && mantissa < MAX_APPROX_MANTISSA && power >= -44 && power <= 44) {
        value = float32Of(mantissa, power);
        if (Number.isNaN(value)) value = Number(Buffer.from(b.buffer, b.byteOffset + start, pos - start).toString('latin1'));
        else if (negative) value = -value;
      } else {
        // The grammar is checked (ASCII only): Number reads it as JSON.parse does.
        value = Number(Buffer.from(b.buffer, b.byteOffset + start, pos - start).toString('latin1'));
      }
      into[at + k] = value;
      const stored = into[at + k]!;
      if (stored - stored !== 0) return false; // out of range (Infinity): the general path words the error
    }
    this.pos = pos;
    return true;
  }
}
