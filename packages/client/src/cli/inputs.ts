/**
 * Request bodies from the command line: `--data FILE` (JSON, `-` for stdin) or `--input
 * name=JSON` tensors whose datatype comes from the model's metadata, so people type values,
 * not KServe bookkeeping:  `--input features=[39.1,18.7,181,3750]`.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Datatype, RequestedOutput, Tensor, TensorData, TensorSpec } from '../types.js';
import { UsageError } from './command.js';
import { parseJson, parseTensorValues } from '../json.js';

/** Reads and parses a JSON file, or stdin for `-`. Problems are usage errors (exit 2). */
export async function readJsonFile(path: string, stdin: Readable): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseJson(text.replace(/^\uFEFF/, '')); // a byte order mark, as some editors write one
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** `name=JSON` pairs → tensors, typed and shaped after the model's declared inputs. */
export function tensorsFromArgs(pairs: string[], specs: TensorSpec[], model: string): Tensor[] {
  return pairs.map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input must be name=JSON, e.g. ${specs[0]?.name ?? 'input'}=[1,2,3] (got ${JSON.stringify(pair)})`);
    const name = pair.slice(0, eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`model ${model} has no input '${name}' (its inputs: ${specs.map((s) => s.name).join(', ')})`);
    let value: unknown;
    try {
      value = parseTensorValues(pair.slice(eq + 1), spec.datatype);
    } catch (err) {
      throw new UsageError(`--input ${name}: not JSON: ${(err as Error).message}`);
    }
    const data: TensorData = Array.isArray(value) ? (value as TensorData) : [value as number];
    let shape = shapeOf(data);
    // One row given without its batch dimension: [5.1, 3.5, 1.4, 0.2] for a [-1, 4] input.
    if (shape.length === spec.shape.length - 1) shape = [1, ...shape];
    return { name, datatype: spec.datatype as Datatype, shape, data };
  });
}

/** The shape of nested arrays, from their first elements (the server checks the rest). */
export function shapeOf(data: unknown): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/** `--output name` or `--output name:k` (top-k classification). */
export function outputsFromArgs(values: string[]): RequestedOutput[] | undefined {
  if (!values.length) return undefined;
  return values.map((v) => {
    const m = /^(.+?):(\d+)$/.exec(v);
    return m ? { name: m[1]!, parameters: { classification: Number(m[2]) } } : { name: v };
  });
}
