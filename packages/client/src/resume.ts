/**
 * PURE: what an answer to a resumed results download (`Range: bytes=<received>-`) may be, and
 * whether it continues the bytes already received. Checked here rather than trusted: a proxy
 * or a cache in between may answer another range, or a range of the compressed bytes, and a
 * server of another version may make other bytes (their tag says so: the format is in it).
 */

/** The first answer's validator, opaque part only: a weak tag (`W/"…"`, a compressed whole answer) names the same results as the strong one a part carries. */
export const tagOf = (etag: string | null): string | undefined => (etag ? etag.replace(/^W\//, '') : undefined);

export interface ResumedAnswer {
  status: number;
  contentRange: string | null;
  contentEncoding: string | null;
  etag: string | null;
}

/**
 * How to read `answer`, the reply to a resume at `received` bytes of the results first tagged
 * `tag` (and `total` bytes long, when a part said so before): a part that continues them (its
 * total), the whole answer again (a server that reads no Range: skip what was received), or
 * why it continues nothing.
 */
export function resumedPart(answer: ResumedAnswer, received: number, tag: string | undefined, total: number | undefined):
  { part: true; total: number } | { part: false } | { refused: string } {
  const answerTag = tagOf(answer.etag);
  if (tag !== undefined && answerTag !== undefined && answerTag !== tag) return { refused: `they are not those whose first ${received} bytes were received (their tag changed: ${tag} → ${answerTag})` };
  // The whole answer again, of the same results (a server or proxy that reads no Range): what was received is skipped.
  if (answer.status !== 206) return { part: false };
  if (answer.contentEncoding && answer.contentEncoding !== 'identity') return { refused: `a part came ${answer.contentEncoding}-encoded, so its bytes are not the results'` };
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.contentRange ?? '');
  if (!m || Number(m[1]) !== received) return { refused: `a part came as ${answer.contentRange ?? 'no Content-Range'}, not from byte ${received}` };
  const partTotal = Number(m[3]);
  if (total !== undefined && partTotal !== total) return { refused: `their length changed from ${total} to ${partTotal} bytes` };
  return { part: true, total: partTotal };
}
