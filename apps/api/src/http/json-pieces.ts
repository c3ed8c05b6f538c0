/**
 * A document with tensor outputs (a v2 infer response, a job object) as JSON text made in
 * pieces, the event loop running between two: byte for byte `JSON.stringify(doc)`, for
 * documents whose outputs hold so many values that one `JSON.stringify` would hold up every
 * other request of the process (786,432 numbers: 0.32–0.44 s here).
 */
import { randomUUID } from 'node:crypto';
import type { OutputTensor } from '@maas/shared';

/** Output values above which a document is made in pieces. */
export const PIECEWISE_VALUES = 65_536;

/** Whether the document's outputs hold more than PIECEWISE_VALUES values. */
export const inPieces = (doc: { outputs: OutputTensor[] | null }): boolean => outputValues(doc) > PIECEWISE_VALUES;
/** Values written between two turns of the event loop. */
const VALUES_PER_PIECE = 16_384;

/** How many values the document's outputs hold. */
function outputValues(doc: { outputs: OutputTensor[] | null }): number {
  let n = 0;
  for (const o of doc.outputs ?? []) n += o.data.length;
  return n;
}

/** `JSON.stringify(value)` cut around the one place where `marker` stands (a string no caller can know). */
function around(value: unknown, marker: string): [string, string] {
  const text = JSON.stringify(value);
  const quoted = JSON.stringify(marker);
  const at = text.indexOf(quoted);
  return [text.slice(0, at), text.slice(at + quoted.length)];
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The document's JSON as UTF-8 pieces, in order. */
export async function jsonInPieces<T extends { outputs: OutputTensor[] | null }>(doc: T): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  const text: string[] = [];
  const push = (...s: string[]) => text.push(...s);
  const flush = () => {
    pieces.push(Buffer.from(text.join(''), 'utf8'));
    text.length = 0;
  };
  if (!doc.outputs) return [Buffer.from(JSON.stringify(doc), 'utf8')];
  // Key order stays the document's: replacing a key's value keeps its place.
  const marker = `\u0000${randomUUID()}\u0000`;
  const [before, after] = around({ ...doc, outputs: marker }, marker);
  push(before, '[');
  for (let k = 0; k < doc.outputs.length; k++) {
    const o = doc.outputs[k]!;
    const [head, tail] = around({ ...o, data: marker }, marker);
    push(k === 0 ? head : `,${head}`, '[');
    for (let i = 0; i < o.data.length; i += VALUES_PER_PIECE) {
      // An array's JSON without its brackets: the values as JSON.stringify writes them (NaN → null).
      const values = JSON.stringify(o.data.slice(i, i + VALUES_PER_PIECE)).slice(1, -1);
      push(i === 0 ? values : `,${values}`);
      flush();
      await turn();
    }
    push(']', tail);
  }
  push(']', after);
  flush();
  return pieces;
}
