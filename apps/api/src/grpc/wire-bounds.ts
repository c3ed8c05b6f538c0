/**
 * PURE: bounds a request message's shape from its wire bytes, before protobufjs decodes it.
 *
 * Decoding builds a JS value for every field a message repeats: a 60 MB ModelInferRequest of
 * 30 million empty `inputs` entries (two bytes each; 61 KB gzipped) became 30 million
 * default-filled objects, and the API ran out of memory (audit). MAX_TENSORS was checked only
 * after the decode. So the bytes are walked first, counting:
 * - `inputs`, `outputs`, `raw_input_contents` and `parameters` entries (at most MAX_TENSORS each),
 * - each tensor's `shape` dimensions (at most MAX_DIMS) and `parameters` (at most MAX_TENSORS),
 * - every field occurrence at those levels and in each tensor's `contents`, and each INT64 or
 *   UINT64 element of a packed list (each decodes to a string): at most OCCURRENCES_MAX.
 *   Encoders pack numeric lists (one occurrence, however long: FP32 data is not bounded
 *   here beyond MAX_BODY_MB), so only BYTES elements and hostile messages come near it.
 * Other requests (health, metadata, repository, statistics) carry a few names: SMALL_REQUEST_MAX.
 * The walk and the decoder must read the bytes alike, so a known field sent with a wire type
 * its type never has, a group (wire types 3 and 4, not proto3's: protobufjs skips them with
 * what they enclose) or a message cut short is refused here too.
 * The walk stops at the first bound passed, so a hostile message costs a few milliseconds.
 */
import { MAX_DIMS, MAX_TENSORS } from '@maas/shared';

/** Field occurrences (and INT64/UINT64 elements) a ModelInferRequest may hold: BYTES tensors' elements count here. */
export const OCCURRENCES_MAX = 1 << 20;
/** The largest request of any method but inference. */
export const SMALL_REQUEST_MAX = 1 << 20;

/** ModelInferRequest field numbers. */
const REQUEST = { parameters: 4, inputs: 5, outputs: 6, raw: 7 } as const;
/** InferInputTensor / InferRequestedOutputTensor field numbers. */
const INPUT = { shape: 3, parameters: 4, contents: 5 } as const;
const OUTPUT = { parameters: 2 } as const;
/** InferTensorContents' int64_contents and uint64_contents. */
const LONG_CONTENTS = new Set([3, 5]);

/**
 * The wire types the schema allows each known field (the generated decoder does not check a
 * message field's: sent as a varint, `inputs` would be skipped here and decoded there). Field
 * number → allowed wire types; a field not listed is unknown, skipped by both alike.
 */
const WIRE_TYPES: Record<'request' | 'input' | 'output' | 'contents', Map<number, readonly number[]>> = {
  request: new Map([[1, [2]], [2, [2]], [3, [2]], [4, [2]], [5, [2]], [6, [2]], [7, [2]]]),
  input: new Map([[1, [2]], [2, [2]], [3, [0, 2]], [4, [2]], [5, [2]]]),
  output: new Map([[1, [2]], [2, [2]]]),
  // bool, int32, int64, uint32, uint64 (varints), fp32 (fixed32), fp64 (fixed64), each packed or
  // not, and bytes
  contents: new Map([[1, [0, 2]], [2, [0, 2]], [3, [0, 2]], [4, [0, 2]], [5, [0, 2]], [6, [5, 2]], [7, [1, 2]], [8, [2]]]),
};

/** Why field `n` of a `message` may not come with wire type `wt`, or undefined. */
function wireTypeProblem(message: keyof typeof WIRE_TYPES, n: number, wt: number): string | undefined {
  const allowed = WIRE_TYPES[message].get(n);
  return allowed && !allowed.includes(wt) ? `field ${n} has wire type ${wt}, which its type is never sent as` : undefined;
}

class Bounds {
  occurrences = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** A varint at `at`: its value and the offset after it (value exact to 2^53). */
  varint(at: number, end: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let i = at; i < end && i < at + 10; i++) {
      const b = this.bytes[i]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return [value, i + 1];
    }
    throw new Truncated();
  }

  /**
   * Walks the fields of the message in [start, end), calling `field(number, wireType, from, to)`
   * for each (from/to: a length-delimited field's payload). Counts every occurrence.
   */
  fields(start: number, end: number, field: (n: number, wt: number, from: number, to: number) => string | undefined): string | undefined {
    let at = start;
    while (at < end) {
      if (++this.occurrences > OCCURRENCES_MAX) return `more than ${OCCURRENCES_MAX} fields and elements in one request`;
      const [tag, afterTag] = this.varint(at, end);
      const n = Math.floor(tag / 8);
      const wt = tag % 8;
      let from = afterTag;
      let to: number;
      if (wt === 0) to = this.varint(afterTag, end)[1];
      else if (wt === 1) to = afterTag + 8;
      else if (wt === 5) to = afterTag + 4;
      else if (wt === 2) {
        const [length, afterLength] = this.varint(afterTag, end);
        from = afterLength;
        to = afterLength + length;
      } else return `field ${n} has wire type ${wt} (groups and other wire types are not proto3's)`; // protobufjs would skip a group, and what it hides
      if (to > end) throw new Truncated();
      const problem = field(n, wt, from, to);
      if (problem) return problem;
      at = to;
    }
    return undefined;
  }

  /** Varints in a packed payload. */
  packedVarints(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) if (this.bytes[i]! < 0x80) n++;
    return n;
  }
}

class Truncated extends Error {}

/** Which bound a ModelInferRequest's bytes pass (INVALID_ARGUMENT: `path: message`), or undefined. */
export function inferRequestBoundsProblem(bytes: Uint8Array): string | undefined {
  const b = new Bounds(bytes);
  const counts = { inputs: 0, outputs: 0, raw: 0, parameters: 0 };
  const over = (what: string, n: number, max: number) => (n > max ? `${what}: at most ${max} (got more)` : undefined);
  const parameters = (path: string) => {
    let n = 0;
    return () => over(`${path}parameters`, ++n, MAX_TENSORS);
  };
  const contents = (from: number, to: number) => b.fields(from, to, (n, wt, f, t) => {
    const wrong = wireTypeProblem('contents', n, wt);
    if (wrong) return wrong;
    if (wt === 2 && LONG_CONTENTS.has(n)) {
      b.occurrences += b.packedVarints(f, t);
      if (b.occurrences > OCCURRENCES_MAX) return `more than ${OCCURRENCES_MAX} fields and elements in one request`;
    }
    return undefined;
  });
  try {
    return b.fields(0, bytes.length, (n, wt, from, to) => {
      const wrong = wireTypeProblem('request', n, wt);
      if (wrong) return wrong;
      if (wt !== 2) return undefined;
      if (n === REQUEST.parameters) return over('parameters', ++counts.parameters, MAX_TENSORS);
      if (n === REQUEST.raw) return over('raw_input_contents', ++counts.raw, MAX_TENSORS);
      if (n === REQUEST.inputs) {
        const path = `inputs[${counts.inputs}].`;
        const tooLong = over('inputs', ++counts.inputs, MAX_TENSORS);
        if (tooLong) return tooLong;
        let dims = 0;
        const parameter = parameters(path);
        return b.fields(from, to, (m, mwt, f, t) => {
          const wrongType = wireTypeProblem('input', m, mwt);
          if (wrongType) return wrongType;
          if (m === INPUT.shape) {
            // Packed (as encoders write it), the count is exact; unpacked, the walk stops past the bound.
            const packed = mwt === 2;
            dims += packed ? b.packedVarints(f, t) : 1;
            return dims > MAX_DIMS ? `${path}shape: at most ${MAX_DIMS} dimensions (got ${packed ? dims : 'more'})` : undefined;
          }
          if (m === INPUT.parameters && mwt === 2) return parameter();
          if (m === INPUT.contents && mwt === 2) return contents(f, t);
          return undefined;
        });
      }
      if (n === REQUEST.outputs) {
        const tooLong = over('outputs', ++counts.outputs, MAX_TENSORS);
        if (tooLong) return tooLong;
        const parameter = parameters(`outputs[${counts.outputs - 1}].`);
        return b.fields(from, to, (m, mwt) => wireTypeProblem('output', m, mwt) ?? (m === OUTPUT.parameters ? parameter() : undefined));
      }
      return undefined;
    });
  } catch (err) {
    if (err instanceof Truncated) return 'the message is cut short (a length or a value runs past its end)';
    throw err;
  }
}
