/**
 * Answers a document with `outputs` (a v2 infer response, a job object) as JSON, or framed by
 * the binary tensor extension when the request asked for any of its outputs in binary. JSON
 * outputs of more than PIECEWISE_VALUES values are made in pieces (json-pieces.ts).
 *
 * Written with `res.end`, not express's `res.send`: `sendOutputs` answers POSTs, for which the
 * ETag that `send` computes (a SHA-1 of the body, for every response) means nothing; `sendJob`
 * answers GETs and computes express's ETag from the pieces itself.
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { exactJson, type OutputTensor } from '@maas/shared';
import { frameResponse, HEADER_LENGTH } from '../binary/framing.js';
import { inPieces, jsonInPieces } from './json-pieces.js';

/**
 * A job object (or any document with `outputs`) as JSON, as `res.json` would send it (with its
 * ETag: a GET), its INT64/UINT64 outputs exact (shared tensors/exact-integers.ts); large outputs made in
 * pieces (json-pieces.ts) and written as they are, with the ETag express would give their whole.
 */
export async function sendJob<T extends { outputs: OutputTensor[] | null }>(res: Response, doc: T): Promise<void> {
  res.type('application/json');
  if (!inPieces(doc)) {
    res.send(exactJson(JSON.stringify(doc)));
    return;
  }
  const pieces = await jsonInPieces(doc, () => !res.destroyed);
  if (!pieces) return; // the client left while it was made
  const length = byteLength(pieces);
  if (res.app.get('etag fn')) res.setHeader('ETag', weakEtag(pieces, length));
  if (res.req.fresh) {
    // As `res.send` answers a conditional GET whose copy is current.
    res.removeHeader('Content-Type');
    res.status(304).end();
    return;
  }
  writePieces(res, pieces, length);
}

/**
 * Express's default (weak) ETag of a body, `W/"<length in hex>-<SHA-1, base64, 27 characters>"`,
 * from its pieces: the body is never joined into one buffer (a copy of megabytes a GET).
 */
export function weakEtag(pieces: Uint8Array[], length: number): string {
  const sha1 = createHash('sha1');
  for (const p of pieces) sha1.update(p);
  return `W/"${length.toString(16)}-${sha1.digest('base64').substring(0, 27)}"`;
}

export async function sendOutputs<T extends { outputs: OutputTensor[] | null }>(res: Response, status: number, doc: T, binary: (name: string) => boolean): Promise<void> {
  // Large JSON outputs are made in pieces, the event loop running between two (json-pieces.ts).
  let pieces: Buffer[];
  let headerLength: number | undefined;
  if (inPieces(doc) && !doc.outputs?.some((o) => binary(o.name))) {
    const made = await jsonInPieces(doc, () => !res.destroyed);
    if (!made) return; // the client left while it was made
    pieces = made;
  } else {
    ({ pieces, headerLength } = frameResponse(doc, binary));
  }
  res.status(status);
  if (headerLength === undefined) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
  } else {
    res.setHeader(HEADER_LENGTH, String(headerLength));
    res.setHeader('Content-Type', 'application/octet-stream');
  }
  writePieces(res, pieces, byteLength(pieces));
}

function byteLength(pieces: Uint8Array[]): number {
  return pieces.reduce((n, p) => n + p.byteLength, 0);
}

/** A body written as its pieces, never joined into one buffer. */
function writePieces(res: Response, pieces: Uint8Array[], length: number): void {
  res.setHeader('Content-Length', length);
  for (let i = 0; i < pieces.length - 1; i++) res.write(pieces[i]);
  res.end(pieces[pieces.length - 1]);
}
