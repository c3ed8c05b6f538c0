/**
 * PURE: NDJSON framing over a byte stream. Splits on '\n' (a preceding '\r' is dropped) at
 * the byte level and hands out each line's bytes undecoded (the compact fast path reads
 * bytes; `lineText` decodes them whole, so a multi-byte UTF-8 character split across chunks
 * is never broken). It never holds more than one partial line. Line numbers count every
 * physical line (blank ones are skipped but counted), so errors point into the user's file;
 * the same count is held to `maxLines`, so a body of nothing but newlines ends promptly.
 */
import { AppError, PayloadTooLargeError } from '@maas/shared';
import { NPY_MAGIC } from './npy.js';

/**
 * A line where it lies: `buf[start, end)`, its UTF-8 bytes without its line ending (and
 * without a leading byte order mark). Most lines are read in place (row-scan.ts), so no
 * Buffer is made for each (a quarter of a microsecond a line); `bytes` makes one.
 */
export class NdjsonLine {
  constructor(
    /** 1-based physical line number */
    readonly n: number,
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  get bytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
}

/** A line's text. */
export const lineText = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');

/** A 413: the upload ends at the first line over the limit. */
export class LineTooLongError extends PayloadTooLargeError {
  override readonly name = 'LineTooLongError';
  constructor(readonly n: number, readonly limit: number) {
    super(`line ${n} is longer than ${limit} bytes (BATCH_MAX_LINE_MB); send large rows as an .npy array`);
  }
}

/** A 413: the body has more lines than the limit (blank ones count: a gigabyte of newlines is no batch). */
export class TooManyLinesError extends PayloadTooLargeError {
  override readonly name = 'TooManyLinesError';
  constructor(readonly limit: number) {
    super(`a batch holds at most ${limit} lines (blank lines count)`);
  }
}

/**
 * A 415: the body says NDJSON but starts as a gzip stream or a NumPy file does (bytes no UTF-8
 * text starts with), which would otherwise become a batch of lines that each fail as not UTF-8.
 */
export class NotNdjsonError extends AppError {
  override readonly name = 'NotNdjsonError';
  constructor(what: 'gzip' | 'npy') {
    super('unsupported-media-type', what === 'gzip'
      ? 'the body is gzip-compressed, sent as NDJSON: send it with Content-Encoding: gzip'
      : 'the body is a NumPy (.npy) file, sent as NDJSON: send it as application/x-npy');
  }
}

/**
 * PURE: which other format a body's first bytes are (`undefined`: NDJSON, or too few to tell
 * when `more` bytes may follow: then 'unknown').
 */
export function otherFormat(first: Uint8Array, more = false): 'gzip' | 'npy' | 'unknown' | undefined {
  const gzip = startsAs(first, GZIP_MAGIC);
  const npy = startsAs(first, NPY_MAGIC);
  if (gzip === 'yes') return 'gzip';
  if (npy === 'yes') return 'npy';
  return more && (gzip === 'maybe' || npy === 'maybe') ? 'unknown' : undefined;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** Bytes `otherFormat` needs at most. */
const MAGIC_BYTES = NPY_MAGIC.length;

/** Whether `bytes` begin with `magic`: 'maybe' while they are a shorter prefix of it. */
function startsAs(bytes: Uint8Array, magic: Buffer): 'yes' | 'no' | 'maybe' {
  const n = Math.min(bytes.length, magic.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== magic[i]) return 'no';
  return n === magic.length ? 'yes' : 'maybe';
}

const NL = 0x0a;
const CR = 0x0d;

const BOM = [0xef, 0xbb, 0xbf];

/** Line `n` from `start` to `end` (its '\n'), without '\r' and, on line 1, a BOM. */
function line(buf: Buffer, start: number, end: number, n: number): NdjsonLine {
  if (end > start && buf[end - 1] === CR) end--;
  if (n === 1 && end - start >= 3 && buf[start] === BOM[0] && buf[start + 1] === BOM[1] && buf[start + 2] === BOM[2]) start += 3;
  return new NdjsonLine(n, buf, start, end);
}

/** True for a line of white space only (what String.prototype.trim removes). */
function blank({ buf, start, end }: NdjsonLine): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
    if (c < 0x80) return false;
    return buf.toString('utf8', start, end).trim() === ''; // non-ASCII: Unicode spaces count too
  }
  return true;
}

/**
 * The lines of `stream`, handed out a piece of the stream at a time (every line that piece
 * completes, in order), so a million short lines cost a few hundred awaits, not a million.
 * A line longer than a piece is kept as a list of pieces and joined once, when its '\n'
 * arrives: framing is linear in the line's length (each byte is searched once, copied once).
 * A line over `maxLineBytes` throws as soon as it is known to be too long, after the lines
 * before it were handed out.
 */
export async function* ndjsonLines(stream: AsyncIterable<Buffer | string>, maxLineBytes: number, maxLines = Infinity): AsyncGenerator<NdjsonLine[]> {
  /** pieces of the line still open (no '\n' seen yet), and their total length */
  let open: Buffer[] = [];
  let openBytes = 0;
  let n = 0;
  const close = (tail: Buffer): Buffer => {
    const whole = open.length === 0 ? tail : Buffer.concat([...open, tail], openBytes + tail.length);
    open = [];
    openBytes = 0;
    return whole;
  };
  // The body's first bytes, until they tell whether it is another format (a few pieces at most).
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const piece of stream) {
    const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (head) {
      head = Buffer.concat([head, buf.subarray(0, MAGIC_BYTES)]);
      const other = otherFormat(head, true);
      if (other === 'gzip' || other === 'npy') throw new NotNdjsonError(other);
      if (other === undefined) head = undefined; // NDJSON as far as its first bytes go
    }
    const lines: NdjsonLine[] = [];
    let start = 0;
    let nl = buf.indexOf(NL);
    if (openBytes > 0) {
      if (nl === -1) {
        openBytes += buf.length;
        if (openBytes > maxLineBytes + 1) throw new LineTooLongError(n + 1, maxLineBytes); // + 1: a CR that may end it
        open.push(buf);
        continue;
      }
      if (++n > maxLines) throw new TooManyLinesError(maxLines);
      const cr = nl > 0 ? buf[nl - 1] === CR : open.at(-1)!.at(-1) === CR;
      if (openBytes + nl - (cr ? 1 : 0) > maxLineBytes) throw new LineTooLongError(n, maxLineBytes);
      const whole = close(buf.subarray(0, nl));
      const l = line(whole, 0, whole.length, n);
      if (!blank(l)) lines.push(l);
      start = nl + 1;
      nl = buf.indexOf(NL, start);
    }
    for (; nl !== -1; nl = buf.indexOf(NL, start)) {
      n++;
      // A CRLF line's CR is its ending, not its text: it does not count against the limit.
      if (nl - start - (nl > start && buf[nl - 1] === CR ? 1 : 0) > maxLineBytes || n > maxLines) {
        if (lines.length > 0) yield lines;
        throw n > maxLines ? new TooManyLinesError(maxLines) : new LineTooLongError(n, maxLineBytes);
      }
      if (nl === start || (nl === start + 1 && buf[start] === CR)) {
        start = nl + 1; // an empty line: skipped without slicing it
        continue;
      }
      const l = line(buf, start, nl, n);
      start = nl + 1;
      if (!blank(l)) lines.push(l);
    }
    if (lines.length > 0) yield lines;
    if (start < buf.length) {
      if (buf.length - start > maxLineBytes + 1) throw new LineTooLongError(n + 1, maxLineBytes);
      open.push(buf.subarray(start));
      openBytes = buf.length - start;
    }
  }
  if (openBytes > 0) {
    if (++n > maxLines) throw new TooManyLinesError(maxLines);
    const whole = close(Buffer.alloc(0));
    if (whole.length - (whole.at(-1) === CR ? 1 : 0) > maxLineBytes) throw new LineTooLongError(n, maxLineBytes); // the one byte the slack above let by
    const l = line(whole, 0, whole.length, n);
    if (!blank(l)) yield [l];
  }
}
