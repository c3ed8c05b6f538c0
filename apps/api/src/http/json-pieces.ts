/**
 * A document with tensor outputs (a v2 infer response, a job object) as JSON text made in
 * pieces, the event loop running between two: byte for byte `exactJson(JSON.stringify(doc))`, for
 * documents whose outputs hold so many values that one `JSON.stringify` would hold up every
 * other request of the process (786,432 numbers: 0.32–0.44 s here). One piece of all the
 * answers being made runs a turn of the event loop (piece-turns.ts). Outputs made from bytes
 * (output-tensor.ts) are read from them a piece at a time, never as one array of every value.
 */
import { randomUUID } from 'node:crypto';
import { pieceTurns } from './piece-turns.js';
import { elementCount, exactJson, jsonValueSlicer, rawOf, type JsonValue, type OutputTensor } from '@maas/shared';

/** Output values above which a document is made in pieces. */
export const PIECEWISE_VALUES = 65_536;

/** Whether the document's outputs hold more than PIECEWISE_VALUES values. */
export const inPieces = (doc: { outputs: OutputTensor[] | null }): boolean => outputValues(doc) > PIECEWISE_VALUES;
/** Values written between two turns of the event loop. */
const VALUES_PER_PIECE = 16_384;

/** How many values the document's outputs hold. */
function outputValues(doc: { outputs: OutputTensor[] | null }): number {
  let n = 0;
  for (const o of doc.outputs ?? []) n += elementCount(o.shape);
  return n;
}

/** `JSON.stringify(value)` cut around the one place where `marker` stands (a string no caller can know). */
function around(value: unknown, marker: string): [string, string] {
  const text = JSON.stringify(value);
  const quoted = JSON.stringify(marker);
  const at = text.indexOf(quoted);
  return [text.slice(0, at), text.slice(at + quoted.length)];
}

/** Values [from, to) of an output: read from its bytes when it has them, else its JSON values. */
function valueSlicer(o: OutputTensor): (from: number, to: number) => JsonValue[] {
  const raw = rawOf(o);
  return raw ? jsonValueSlicer(raw) : (from, to) => o.data.slice(from, to);
}

/**
 * The document's JSON as UTF-8 pieces, in order; undefined once `wanted` says no (its client
 * left: the pieces left would take others' turns for nothing).
 */
export async function jsonInPieces<T extends { outputs: OutputTensor[] | null }>(doc: T, wanted: () => boolean = () => true): Promise<Buffer[] | undefined> {
  const pieces: Buffer[] = [];
  const text: string[] = [];
  const push = (...s: string[]) => text.push(...s);
  const flush = () => {
    if (text.length > 0) pieces.push(Buffer.from(text.join(''), 'utf8'));
    text.length = 0;
  };
  if (!doc.outputs) return [Buffer.from(JSON.stringify(doc), 'utf8')];
  const order = pieceTurns.order();
  // Key order stays the document's: replacing a key's value keeps its place.
  const marker = `\u0000${randomUUID()}\u0000`;
  const [before, after] = around({ ...doc, outputs: marker }, marker);
  push(before, '[');
  for (let k = 0; k < doc.outputs.length; k++) {
    const o = doc.outputs[k]!;
    // Field by field, in OutputTensor's order: a spread would read `data` whole.
    const [head, tail] = around({ name: o.name, datatype: o.datatype, shape: o.shape, data: marker }, marker);
    push(k === 0 ? head : `,${head}`, '[');
    const count = elementCount(o.shape);
    const slice = valueSlicer(o);
    // Numbers, booleans and null are ASCII, which latin1 writes byte for byte, without the
    // UTF-8 pass (half the time of a piece's encoding here); strings may not be.
    const ascii = o.datatype !== 'BYTES';
    for (let i = 0; i < count; i += VALUES_PER_PIECE) {
      await pieceTurns.turn(order); // one piece of all answers' a turn (piece-turns.ts)
      if (!wanted()) return undefined;
      // An array's JSON without its brackets: the values as JSON.stringify writes them (NaN → null).
      const piece = slice(i, Math.min(count, i + VALUES_PER_PIECE));
      const text = JSON.stringify(piece);
      // A marker (exact-integers.ts) is a string among numbers: looked for only where one stands
      // (searching the text took as long as making it).
      const values = (ascii && piece.some((v) => typeof v === 'string') ? exactJson(text) : text).slice(1, -1);
      flush();
      pieces.push(Buffer.from(i === 0 ? values : `,${values}`, ascii ? 'latin1' : 'utf8'));
    }
    push(']', tail);
  }
  push(']', after);
  flush();
  return pieces;
}
