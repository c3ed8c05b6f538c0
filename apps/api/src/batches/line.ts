/**
 * PURE: one NDJSON request line → its tensors, checked against the model, or the error that
 * fails this line alone. Two forms (CONTRACT §4):
 *   {"custom_id": "r1", "inputs": [tensor, ...]}              tensor form, any number of rows
 *   {"custom_id": "r1", "inputs": {"features": [5.1, ...]}}   compact form, one row
 */
import { isUtf8 } from 'node:buffer';
import { checkRequest, encodeValues, type JobError, type JsonTensor, type RawTensor, type Signature } from '@maas/shared';
import type { RowPlan } from './chunker.js';
import { isScanDatatype, scanRowLine, type ScanInput } from './row-scan.js';
import { lineText } from './ndjson.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, refusedBeforeParse } from '../http/json-bounds.js';
import { readRequestJson } from '../json/request-json.js';

export type ParsedLine =
  | { ok: true; customId: string; rows: number; compact: boolean; inputs: RawTensor[]; shapeKey: string }
  | { ok: false; customId: string; error: JobError };

/**
 * A line's `custom_id` when it is the line's first key (as clients write it), read without
 * parsing the rest: for a line refused before it is parsed (nesting too deep), so that its
 * result still carries the id it was sent with. Undefined when it is not first, or not a plain
 * string or number.
 */
export function leadingCustomId(text: string): string | undefined {
  const m = /^\s*\{\s*"custom_id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*[,}]/.exec(text.slice(0, 4096));
  if (!m) return undefined;
  try {
    return String(JSON.parse(m[1]!));
  } catch {
    return undefined;
  }
}

const invalid = (customId: string, n: number, message: string): ParsedLine => ({
  ok: false,
  customId,
  error: { type: 'invalid-input', message: `line ${n}: ${message}` },
});

/**
 * Where nested row values stop being regular, looked at level by level (`depth` levels at
 * most): a level whose elements mix arrays and values, or hold arrays of different lengths,
 * cousins included (`[0.5, …, [1]]`, or `[[1, 2], [[3], [4]]]`, which flattening would read as
 * a flat row); undefined when they are regular.
 */
export function raggedAt(values: unknown[], depth: number, where: string): string | undefined {
  let level = values;
  for (let d = 1; d <= depth; d++) {
    const arrays = level.filter(Array.isArray);
    if (arrays.length === 0) return undefined;
    if (arrays.length !== level.length) return `${where}: values and arrays side by side ${d} level${d > 1 ? 's' : ''} down: nest a row's values evenly, or not at all`;
    const n = arrays[0]!.length;
    const other = arrays.find((a) => a.length !== n);
    if (other) return `${where}: arrays of ${n} and ${other.length} elements side by side ${d} level${d > 1 ? 's' : ''} down`;
    level = level.flat(1);
  }
  return undefined;
}

/** PURE: the dimensions of regularly nested `values` (raggedAt found none irregular), `depth` levels at most. */
function nestedShape(values: unknown[], depth: number): number[] {
  const dims: number[] = [];
  let level: unknown = values;
  while (Array.isArray(level) && dims.length < depth) {
    dims.push(level.length);
    level = level[0];
  }
  return dims;
}

/** PURE: whether `dims` are a row's dimensions `rest` (-1: any length). */
const rowShaped = (dims: number[], rest: number[]): boolean => dims.length === rest.length && dims.every((d, i) => rest[i] === -1 || rest[i] === d);

/** The compact form's `{name: values}` as one-row JSON tensors shaped by the model. */
function compactTensors(inputs: Record<string, unknown>, sig: Signature): JsonTensor[] | string {
  const tensors: JsonTensor[] = [];
  for (const [name, values] of Object.entries(inputs)) {
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec) return `unknown input '${name}'; the model expects: ${sig.inputs.map((s) => s.name).join(', ')}`;
    if (!Array.isArray(values)) return `inputs.${name} must be an array of the row's values`;
    const rest = spec.shape.slice(1);
    // Compact rows are usually flat already. Nesting is undone as deep as the input's
    // dimensions go (plus one for a row wrapped as a batch of one) and no deeper: whatever is
    // left is an array where a value belongs (an error below), and a row nested 10,000 deep
    // cannot overflow the stack of a recursive flat().
    let flat: unknown[] = values;
    if (values.some(Array.isArray)) {
      const ragged = raggedAt(values, rest.length, `inputs.${name}`);
      if (ragged) return ragged;
      // Nested, it must be nested as a row is ([2, 2] of a [-1, 2, 2] input, or a batch of one
      // such): a [4] row given as [2, 2] or [4, 1] is a reshaped row, refused as the tensor form refuses it.
      const nested = nestedShape(values, rest.length + 1);
      if (!rowShaped(nested, rest) && !(nested[0] === 1 && rowShaped(nested.slice(1), rest))) {
        return `inputs.${name} is nested as [${nested.join(', ')}], and a row of it is [${rest.join(', ')}]: nest its values so, or give them flat`;
      }
      flat = values.flat(rest.length);
    }
    const free = rest.filter((d) => d === -1).length;
    const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (free > 1) return `inputs.${name} has more than one variable dimension: use the tensor form`;
    if (!sig.batchable && spec.shape[0] !== 1) {
      return `a compact line is one row, but this model takes exactly ${spec.shape[0]} rows at a time: use the tensor form`;
    }
    const shape = [1, ...rest.map((d) => (d === -1 ? Math.floor(flat.length / known) : d))];
    tensors.push({ name, datatype: spec.datatype, shape, data: flat });
  }
  return tensors;
}

/** What the compact fast path needs to know of a signature, computed once per signature. */
interface CompactPlan {
  inputs: { name: string; datatype: Signature['inputs'][number]['datatype']; rest: number[]; elements: number }[];
  shapeKey: string;
  /** when every input is of a type the single-pass reader takes (row-scan.ts): what it needs */
  scan: ScanInput[] | null;
  /** the same for the chunker's `addRow` */
  row: RowPlan | null;
}
const plans = new WeakMap<Signature, CompactPlan | null>();

/** A plan when every input is `[batch, fixed dims...]` of a batchable model, else null. */
function compactPlan(sig: Signature): CompactPlan | null {
  let plan = plans.get(sig);
  if (plan !== undefined) return plan;
  const fixed = sig.batchable && sig.inputs.every((s) => s.shape.length >= 1 && s.shape.slice(1).every((d) => d >= 0));
  if (fixed) {
    const inputs = sig.inputs.map((s) => ({ name: s.name, datatype: s.datatype, rest: s.shape.slice(1), elements: s.shape.slice(1).reduce((a, b) => a * b, 1) }));
    const scannable = inputs.every((i) => isScanDatatype(i.datatype));
    const shapeKey = sig.inputs.map((s) => s.shape.slice(1).join('x')).join('|');
    const scan = scannable ? inputs.map((i) => ({ name: i.name, datatype: i.datatype as ScanInput['datatype'], shape: [1, ...i.rest], elements: i.elements })) : null;
    plan = { inputs, shapeKey, scan, row: scan && { inputs: scan, shapeKey } };
  } else {
    plan = null;
  }
  plans.set(sig, plan);
  return plan;
}

/**
 * How the chunker reads this model's lines straight into a chunk (chunker.ts `addRow`), or
 * null when it cannot (an input of a type row-scan.ts does not read, such as BOOL, BYTES or
 * the small and unsigned integers, or of a variable size): every line then goes through
 * `parseLine`.
 */
export function rowPlan(sig: Signature): RowPlan | null {
  return compactPlan(sig)?.row ?? null;
}

/**
 * The common case, without building request tensors: a compact line whose inputs are exactly
 * the model's, each a flat row of the right length. Anything else (or any bad value) returns
 * undefined and takes the general path, which words the error.
 */
function fastCompact(inputs: Record<string, unknown>, plan: CompactPlan): RawTensor[] | undefined {
  let keys = 0;
  for (const _ in inputs) keys++;
  if (keys !== plan.inputs.length) return undefined;
  const raw: RawTensor[] = [];
  for (const spec of plan.inputs) {
    const values = inputs[spec.name];
    if (!Array.isArray(values) || values.length !== spec.elements || Array.isArray(values[0])) return undefined;
    const enc = encodeValues(spec.name, spec.datatype, [1, ...spec.rest], values);
    if (!enc.ok) return undefined;
    raw.push(enc.tensor);
  }
  return raw;
}

/**
 * Parses line `n` (its UTF-8 bytes, `line[start, end)` when given, or its text) against the
 * model's signature.
 */
export function parseLine(line: Uint8Array | string, n: number, sig: Signature, start?: number, end?: number): ParsedLine {
  const plan = compactPlan(sig);
  if (plan?.scan) {
    const scanned = scanRowLine(typeof line === 'string' ? Buffer.from(line) : line, plan.scan, start, end);
    if (scanned) return { ok: true, customId: scanned.customId ?? String(n), rows: scanned.rows, compact: scanned.compact, inputs: scanned.inputs, shapeKey: plan.shapeKey };
  }
  if (typeof line === 'string') return parseLineText(line, n, sig);
  const bytes = start === undefined ? line : line.subarray(start, end);
  // Read with U+FFFD in place, an id would come back altered (and a string value reach the model so).
  if (!isUtf8(bytes)) return invalid(String(n), n, 'the line is not UTF-8 text');
  return parseLineText(lineText(bytes), n, sig);
}

/**
 * PURE: why a line's keys are not a line's (CONTRACT §4: `{"custom_id", "inputs"}`), or
 * undefined. Every other key fails its line, as an unknown key fails a `/v1/jobs` body: one
 * ignored in silence ran a line on another model than the one it named (a Replicate/OpenAI
 * migration audit). The single-pass reader (row-scan.ts) takes no other key, so such a line
 * always comes here.
 */
export function strayKeyProblem(obj: object): string | undefined {
  // Asking for outputs there (classification, a subset) would be ignored.
  if (Object.hasOwn(obj, 'outputs')) return 'a line takes no `outputs`: its result holds every output of the model as it is';
  if (!Object.hasOwn(obj, 'inputs') && (Object.hasOwn(obj, 'body') || Object.hasOwn(obj, 'method') || Object.hasOwn(obj, 'url'))) {
    return 'OpenAI Batch request lines ({custom_id, method, url, body}) are not read here: a line is {"custom_id", "inputs"}, and the upload\'s ?model= names the model';
  }
  for (const key of Object.keys(obj)) {
    if (key === 'custom_id' || key === 'inputs') continue;
    if (key === 'model' || key === 'version') return `a line takes no \`${key}\`: the upload's ?model= (and ?version=) runs every line`;
    return `unknown key ${JSON.stringify(key.slice(0, 64))}: a line is {"custom_id", "inputs"}`;
  }
  return undefined;
}

/**
 * The general path: the line's text through `JSON.parse` (integers past 2^53 in tensor values
 * exact: json/request-json.ts) and the request checks (what the single-pass reader must agree with).
 */
export function parseLineText(text: string, n: number, sig: Signature): ParsedLine {
  // Before JSON.parse, which would stop the API for seconds over a line of millions of brackets.
  const refusal = refusedBeforeParse(text);
  if (refusal) return invalid(leadingCustomId(text) ?? String(n), n, refusal.issues[0]!.message);
  let obj: unknown;
  try {
    obj = readRequestJson(text);
  } catch (err) {
    return invalid(String(n), n, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return invalid(String(n), n, 'a request line must be a JSON object');
  const { custom_id: rawId, inputs } = obj as { custom_id?: unknown; inputs?: unknown };
  // null is JSON's "absent" (a serializer's unset field): the line number, as for no custom_id.
  // A number past the double range (1e400) reads as Infinity: its text would not come back.
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string' && !(typeof rawId === 'number' && Number.isFinite(rawId))) {
    return invalid(String(n), n, 'custom_id must be a string or a finite number');
  }
  const customId = rawId === undefined || rawId === null ? String(n) : String(rawId);
  const stray = strayKeyProblem(obj);
  if (stray) return invalid(customId, n, stray);
  let tensors: JsonTensor[];
  let compact = false;
  if (Array.isArray(inputs)) {
    tensors = inputs as JsonTensor[];
    for (const [i, t] of tensors.entries()) {
      if (typeof t !== 'object' || t === null || typeof t.name !== 'string' || !Array.isArray(t.shape) || !Array.isArray(t.data) || typeof t.datatype !== 'string') {
        return invalid(customId, n, `inputs[${i}] must be a tensor {name, shape, datatype, data}`);
      }
      // As the interactive path's schema (JsonTensor) requires: rows must be a count.
      if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        return invalid(customId, n, `inputs[${i}].shape must be a list of non-negative integers`);
      }
    }
  } else if (typeof inputs === 'object' && inputs !== null) {
    const plan = compactPlan(sig);
    const fast = plan && fastCompact(inputs as Record<string, unknown>, plan);
    if (plan && fast) return tooDeep(obj) ?? { ok: true, customId, rows: 1, compact: true, inputs: fast, shapeKey: plan.shapeKey };
    const built = compactTensors(inputs as Record<string, unknown>, sig);
    if (typeof built === 'string') return invalid(customId, n, built);
    tensors = built;
    compact = true;
  } else {
    return invalid(customId, n, 'inputs must be a list of tensors or an object {input name: row values}');
  }
  const checked = checkRequest(sig, tensors);
  if (!checked.ok) {
    // Compact lines name their inputs: point at `inputs.features`, not at a tensor index they never wrote.
    const where = (path: string) => (compact ? path.replace(/^inputs\[(\d+)\](\.data)?/, (_m, i: string) => `inputs.${tensors[Number(i)]?.name ?? i}`) : path);
    return invalid(customId, n, checked.issues.map((i) => `${where(i.path)}: ${i.message}`).join('; '));
  }
  const shapeKey = checked.value.inputs.map((t) => t.shape.slice(1).join('x')).join('|');
  return tooDeep(obj) ?? { ok: true, customId, rows: checked.value.rows, compact, inputs: checked.value.inputs, shapeKey };

  /**
   * A line that passed its checks but nests deeper than a request body may (http/infer-body.ts)
   * in a field the checks never read (a tensor's `parameters`, a key of its own) fails too.
   * Nesting in what the checks read has failed them already, with a message that names it.
   */
  function tooDeep(value: object): ParsedLine | undefined {
    return nestsDeeperThan(value, MAX_JSON_DEPTH) ? invalid(customId, n, `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`) : undefined;
  }
}
