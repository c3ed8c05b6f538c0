/**
 * Scans a model repository (CONTRACT §2) into the models it serves. The only file-system
 * code in shared. A model with a problem (bad config.json, unreadable ONNX, unsupported
 * datatype) is left out and its problem reported, so one bad model never hides the others.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TensorSpec } from '../contract/tensor.js';
import { DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_QUEUE_DELAY_MS, ModelConfigFile, type ModelConfig } from './config.js';
import { readOnnxSignature } from './onnx-metadata.js';
import { servedVersions } from './versions.js';

export interface ModelVersion {
  model: string;
  version: number;
  path: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** rows per ONNX run; 0 when the first dimension is fixed or the config says so */
  maxBatchSize: number;
  /** false when the first dimension of an input or output is fixed: requests must match exactly */
  batchable: boolean;
}

export interface Model {
  name: string;
  config: ModelConfig;
  labels: string[] | undefined;
  /** served versions, newest first */
  versions: ModelVersion[];
}

export interface Repository {
  root: string;
  models: Map<string, Model>;
  /** models left out, and why */
  problems: string[];
  /** notes about served models (e.g. a max_batch_size ignored for a fixed-batch model) */
  warnings: string[];
}

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function readConfig(dir: string, name: string): Promise<ModelConfigFile> {
  const file = join(dir, 'config.json');
  if (!(await exists(file))) return {};
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${name}/config.json is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ModelConfigFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${name}/config.json: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function isBatchable(inputs: TensorSpec[], outputs: TensorSpec[]): boolean {
  return [...inputs, ...outputs].every((t) => t.shape.length >= 1 && t.shape[0] === -1);
}

async function loadModel(root: string, name: string, warnings: string[]): Promise<Model> {
  const dir = join(root, name);
  const file = await readConfig(dir, name);
  const config: ModelConfig = {
    max_batch_size: file.max_batch_size ?? DEFAULT_MAX_BATCH_SIZE,
    max_queue_delay_ms: file.max_queue_delay_ms ?? DEFAULT_MAX_QUEUE_DELAY_MS,
    preferred_batch_sizes: [...(file.preferred_batch_sizes ?? [])].sort((a, b) => a - b),
    execution_providers: file.execution_providers,
    version_policy: file.version_policy ?? { latest: 1 },
    instances: file.instances ?? 1,
  };
  const entries = await readdir(dir, { withFileTypes: true });
  const available: number[] = [];
  for (const e of entries) {
    if (e.isDirectory() && /^[1-9][0-9]{0,8}$/.test(e.name) && (await exists(join(dir, e.name, 'model.onnx')))) {
      available.push(Number(e.name));
    }
  }
  if (available.length === 0) throw new Error(`${name}: no <version>/model.onnx`);
  const served = servedVersions(available, config.version_policy);
  if ('specific' in config.version_policy) {
    const missing = config.version_policy.specific.filter((v) => !available.includes(v));
    if (missing.length) throw new Error(`${name}: version_policy names missing versions ${missing.join(', ')}`);
  }
  const versions: ModelVersion[] = [];
  for (const version of served) {
    const path = join(dir, String(version), 'model.onnx');
    const sig = readOnnxSignature(await readFile(path), `${name}/${version}/model.onnx`);
    const batchable = isBatchable(sig.inputs, sig.outputs);
    if (!batchable && file.max_batch_size) {
      warnings.push(`${name}/${version}: first dimension is fixed, so max_batch_size ${file.max_batch_size} is ignored (0)`);
    }
    versions.push({ model: name, version, path, ...sig, batchable, maxBatchSize: batchable ? config.max_batch_size : 0 });
  }
  const labelsFile = join(dir, 'labels.txt');
  const labels = (await exists(labelsFile)) ? parseLabels(await readFile(labelsFile, 'utf8')) : undefined;
  return { name, config, labels, versions };
}

/** One label a line; trailing blank lines dropped. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Scans `root`; throws only when the folder itself cannot be read. */
export async function loadRepository(root: string): Promise<Repository> {
  const abs = resolve(root);
  const entries = await readdir(abs, { withFileTypes: true }).catch((err: Error) => {
    throw new Error(`model repository ${abs} cannot be read: ${err.message}`);
  });
  const models = new Map<string, Model>();
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!MODEL_NAME.test(e.name)) {
      problems.push(`${e.name}: model names use letters, digits, '.', '_' and '-'`);
      continue;
    }
    try {
      models.set(e.name, await loadModel(abs, e.name, warnings));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { root: abs, models, problems, warnings };
}

/** The version a request names, or the newest served one. Undefined when not served. */
export function findVersion(model: Model, version?: number): ModelVersion | undefined {
  if (version === undefined) return model.versions[0];
  return model.versions.find((v) => v.version === version);
}
