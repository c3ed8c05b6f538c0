/**
 * PURE: byte ranges of an answer (RFC 9110 §13–14): which part of it a request's `Range` asks
 * for (read before the answer's length is known, then held to it), the `Content-Range` that
 * says which part is sent, the conditions that decide whether a part or a 304 is sent
 * (`If-Range`, `If-None-Match`), and the part's bytes taken from the whole answer's.
 *
 * One range is served: a `Range` of several (`bytes=0-9,20-29`) is answered whole, which the
 * RFC allows (a server MAY ignore Range) and every client reads, rather than as
 * `multipart/byteranges`, which few do. A `Range` that is not a byte range, or not valid, is
 * ignored in the same way (§14.2). One that asks only for bytes past the end is a 416.
 */

/** The bytes `[start, end]` (inclusive, as Content-Range counts) of an answer of `total` bytes. */
export interface ByteRange {
  start: number;
  end: number;
}

/** The longest `Range` read: one byte range of two 16-digit numbers is under 40 characters. */
const MAX_RANGE_HEADER = 200;

/** What one byte range asks for: bytes from `first` to `last` (none: to the end), or the last `suffix` bytes. */
export type RangeAsked = { first: number; last: number | undefined } | { suffix: number };

/**
 * The one byte range a request's `Range` asks for, read without the answer's length (so an
 * answer whose length costs work to learn is not made for a Range that asks nothing of it);
 * undefined to send the whole answer: no Range, several ranges, another unit, or not valid.
 */
export function rangeAsked(header: string | undefined): RangeAsked | undefined {
  // Read by splitting, each step linear in the header's length: a regular expression of optional
  // spaces around optional digits backtracked on a header of spaces (3,000 of them held the
  // event loop 11 s). One byte range is short: a longer header asks for nothing this reads.
  if (header === undefined || header.length > MAX_RANGE_HEADER) return undefined;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const spec = header.slice(eq + 1);
  const dash = spec.indexOf('-');
  if (dash < 0) return undefined;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (!/^\d*$/.test(first) || !/^\d*$/.test(last)) return undefined; // several ranges (a comma), or not digits
  if (first === '') return last === '' ? undefined : { suffix: Number(last) };
  // Digits past 2^53 are still a byte position (RFC 9110 §14.1.1 bounds none): one that far is
  // past any answer's end (a 416, as for `bytes=100000-` of a shorter one), however it rounds.
  const start = Number(first);
  const end = last === '' ? undefined : Number(last);
  if (end !== undefined && end < start) return undefined;
  return { first: start, last: end };
}

/** The bytes `asked` of an answer of `total` bytes: a range to send as a 206, or `'unsatisfiable'` (a 416). */
export function rangeOf(asked: RangeAsked, total: number): ByteRange | 'unsatisfiable' {
  if ('suffix' in asked) {
    // The last N bytes (all of them when N is more than there are).
    if (asked.suffix === 0 || total === 0) return 'unsatisfiable';
    return { start: Math.max(0, total - asked.suffix), end: total - 1 };
  }
  if (asked.first >= total) return 'unsatisfiable';
  return { start: asked.first, end: Math.min(asked.last ?? Infinity, total - 1) };
}

/** `Content-Range` of a 206 (`bytes 0-99/1000`), or of a 416 when `range` is undefined (`bytes *\/1000`). */
export const contentRange = (range: ByteRange | undefined, total: number): string =>
  range ? `bytes ${range.start}-${range.end}/${total}` : `bytes */${total}`;

/**
 * Whether a request's `If-Range` lets its Range apply (§13.1.5): absent; the strong entity tag
 * of what would be sent now; or, for an answer that does not change once made, its
 * `Last-Modified` date exactly. Any other tag (a weak one too) or date sends the whole answer:
 * the part the client holds may be of another.
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string, lastModified?: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return value === etag;
  return lastModified !== undefined && !value.startsWith('W/') && Date.parse(value) === Date.parse(lastModified);
}

/**
 * The bytes `[skip, skip + take)` of `source`'s, as pieces of the source's own pieces
 * (subarrays: no copy). Stops reading (and returns the source) once it has them.
 */
export async function* bytesBetween(source: AsyncIterable<Uint8Array>, skip: number, take: number): AsyncGenerator<Uint8Array> {
  if (take <= 0) return;
  let before = skip;
  let left = take;
  for await (const piece of source) {
    let from = 0;
    if (before > 0) {
      if (piece.length <= before) {
        before -= piece.length;
        continue;
      }
      from = before;
      before = 0;
    }
    const to = Math.min(piece.length, from + left);
    left -= to - from;
    yield from === 0 && to === piece.length ? piece : piece.subarray(from, to);
    if (left === 0) return;
  }
}

/**
 * Whether a request's `If-None-Match` names `etag` (weak comparison, §13.1.2: `W/` is read
 * as the same tag; `*` matches any): the client holds the answer already, a 304.
 */
export function noneMatchHolds(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

/** The conditional headers of a GET or HEAD (`preconditions`). */
export interface Conditions {
  ifMatch?: string | undefined;
  ifUnmodifiedSince?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
}

/**
 * What a GET or HEAD's conditions make of an answer tagged `etag` (strong), last modified at
 * `lastModified` (an HTTP date), in RFC 9110's order (§13.2.2): `If-Match` whose tags (strong
 * comparison) name none of it, else an `If-Unmodified-Since` it was modified after, `failed`
 * (412); `If-None-Match` that names it, else (without one) an `If-Modified-Since` it was not
 * modified after, `not-modified` (304); else `send`. A date that does not parse is ignored.
 * `If-Range` is the Range's own (`ifRangeHolds`).
 */
export function preconditions(c: Conditions, etag: string, lastModified?: string, nowMs = Date.now()): 'send' | 'not-modified' | 'failed' {
  const modified = lastModified === undefined ? NaN : Date.parse(lastModified);
  const date = (v: string | undefined) => (v === undefined ? NaN : Date.parse(v));
  if (c.ifMatch !== undefined) {
    if (!c.ifMatch.split(',').some((t) => t.trim() === '*' || t.trim() === etag)) return 'failed';
  } else if (modified > date(c.ifUnmodifiedSince)) return 'failed';
  if (c.ifNoneMatch !== undefined) return noneMatchHolds(c.ifNoneMatch, etag) ? 'not-modified' : 'send';
  // A date later than now is not a valid If-Modified-Since (RFC 9110 §13.1.3): ignored.
  const since = date(c.ifModifiedSince);
  return since <= nowMs && modified <= since ? 'not-modified' : 'send';
}
