/**
 * PURE: NDJSON framing over a byte stream. Splits on '\n' (a preceding '\r' is dropped) at
 * the byte level, so a multi-byte UTF-8 character split across chunks is decoded whole, and
 * never holds more than one partial line. Line numbers count every physical line (blank
 * ones are skipped but counted), so errors point into the user's file.
 */

export interface NdjsonLine {
  /** 1-based physical line number */
  n: number;
  text: string;
}

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(readonly n: number, readonly limit: number) {
    super(`line ${n} is longer than ${limit} bytes`);
  }
}

const NL = 0x0a;
const CR = 0x0d;

function decode(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === CR) end--;
  return buf.toString('utf8', start, end);
}

export async function* ndjsonLines(stream: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<NdjsonLine> {
  let carry: Buffer | undefined;
  let n = 0;
  for await (const piece of stream) {
    let buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (carry) {
      buf = Buffer.concat([carry, buf]);
      carry = undefined;
    }
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      n++;
      if (nl - start > maxLineBytes) throw new LineTooLongError(n, maxLineBytes);
      let text = decode(buf, start, nl);
      if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark
      start = nl + 1;
      if (text.trim() !== '') yield { n, text };
    }
    if (start < buf.length) {
      if (buf.length - start > maxLineBytes) throw new LineTooLongError(n + 1, maxLineBytes);
      carry = buf.subarray(start);
    }
  }
  if (carry && carry.length > 0) {
    n++;
    let text = decode(carry, 0, carry.length);
    if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() !== '') yield { n, text };
  }
}
