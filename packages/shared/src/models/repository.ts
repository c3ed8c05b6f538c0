/**
 * Reads a model repository (CONTRACT §2) into the models it serves. With scan.ts and
 * poller.ts, the only file-system code in shared. A model with a problem (bad config.json,
 * no loadable version) is left out and its problem reported, so one bad model never hides the
 * others; a version that cannot be loaded (unreadable ONNX, unsupported datatype, or a
 * caller's `check` that fails, e.g. an ONNX session that cannot be created) is reported in
 * `unavailable` and the version policy falls back to the next one (versions.ts `loadServed`).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TensorSpec } from '../contract/tensor.js';
import { DEFAULT_MAX_QUEUE_DELAY_MS, ModelConfigFile, type ModelConfig, type VersionPolicy } from './config.js';
import { defaultMaxBatchSize } from './default-batch-size.js';
import { readOnnxSignature, type OnnxSignature } from './onnx-metadata.js';
import { versionFolders } from './version-folders.js';
import { loadServed } from './versions.js';
import { stampOf } from './scan.js';

export interface ModelVersion {
  model: string;
  version: number;
  path: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** rows per ONNX run (config.json's, or default-batch-size.ts's); 0 when the first dimension is fixed or the config says so */
  maxBatchSize: number;
  /** false when the first dimension of an input or output is fixed: requests must match exactly */
  batchable: boolean;
  /** model.onnx's size, mtime and inode when read: a different stamp is a different file */
  stamp: string;
  /** SHA-256 of model.onnx's bytes as read (hex): the same file on every machine, whatever its stamp */
  digest: string;
}

export interface Model {
  name: string;
  config: ModelConfig;
  labels: string[] | undefined;
  /** served versions, newest first */
  versions: ModelVersion[];
  /** versions the policy would serve but that could not be loaded, and why */
  unavailable: { version: number; reason: string }[];
  /** config.json's and labels.txt's stamps when read: a change means a reload */
  stamp: string;
  /** SHA-256 (hex) of the config as read (after defaults) and the labels: the same on every machine with the same files */
  digest: string;
}

/** What is known of a model before its versions are loaded. */
export type ModelInfo = Omit<Model, 'versions' | 'unavailable'>;

/** A further check of a version once its metadata is read (e.g. creating an ONNX session); throws to refuse it. */
export type VersionCheck = (model: ModelInfo, version: ModelVersion) => Promise<void>;

export interface Repository {
  root: string;
  models: Map<string, Model>;
  /** models left out, and why */
  problems: string[];
  /** the same, by folder name: model → its problem */
  failed: Map<string, string>;
  /** notes about served models (e.g. a max_batch_size ignored for a fixed-batch model) */
  warnings: string[];
}

/** Never ends in '.': Windows drops a trailing dot (a folder `mlp.` would open `mlp`). */
export const MODEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_-])?$/;

/** Names a model folder may not have, in any case (routes match paths regardless of case): `/v2/models/stats` is Triton's statistics of every model, so a model of that name could not be read. */
const RESERVED_MODEL_NAMES = new Set(['stats']);

/** PURE: why `name` cannot name a model (its folder), or undefined when it can. */
export function modelNameProblem(name: string): string | undefined {
  if (!MODEL_NAME.test(name)) return `${name}: model names use letters, digits, '.', '_' and '-', begin with a letter or digit, and do not end in '.'`;
  if (RESERVED_MODEL_NAMES.has(name.toLowerCase())) return `${name}: the name is taken by /v2/models/${name} (Triton's statistics of every model)`;
  return undefined;
}

/**
 * Whether `root` holds a folder named exactly `name`. `stat` alone is not enough: on a
 * case-insensitive file system (macOS, Windows) it finds `penguins` as `Penguins` too, and a
 * load of `Penguins` served one folder as a second model, with a queue of its own (a
 * Windows/macOS audit). `listing`, when the caller has just read `root`, spares reading it again.
 */
export async function isModelFolder(root: string, name: string, listing?: readonly string[]): Promise<boolean> {
  const names = listing ?? await readdir(root).catch(() => [] as string[]);
  if (!names.includes(name)) return false;
  return stat(join(root, name)).then((s) => s.isDirectory(), () => false);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Where version `version` of model `model` keeps its ONNX file in the repository at `root`. */
export const versionFile = (root: string, model: string, version: number): string => join(root, model, String(version), 'model.onnx');

/** Whether version `version` of `model` has its ONNX file in the repository at `root` (what a worker needs to run its jobs). */
export const hasVersionFile = (root: string, model: string, version: number): Promise<boolean> => exists(versionFile(root, model, version));

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

/**
 * Whether runs may join the rows of many requests: every input and output has a variable first
 * dimension, and the outputs' are the inputs' rows. The ONNX file's dimension names decide the
 * latter (OnnxSignature.rowAligned), unless config.json sets `max_batch_size`: that says the
 * first dimension is the batch, as it does to Triton.
 */
function isBatchable(sig: OnnxSignature, maxBatchSizeSet: boolean): boolean {
  return [...sig.inputs, ...sig.outputs].every((t) => t.shape.length >= 1 && t.shape[0] === -1) && (sig.rowAligned || maxBatchSizeSet);
}

/**
 * Reads one model folder. Throws (with the reason) when the model cannot be served at all:
 * bad config.json, no version folder, or no version of those the policy would serve loads.
 * `policy`, when given, replaces config.json's version policy (to read versions it does not serve).
 */
export async function readModel(root: string, name: string, warnings: string[] = [], check?: VersionCheck, policy?: VersionPolicy): Promise<Model> {
  const dir = join(root, name);
  const file = await readConfig(dir, name);
  const config: ModelConfig = {
    max_batch_size: file.max_batch_size,
    max_queue_delay_ms: file.max_queue_delay_ms ?? DEFAULT_MAX_QUEUE_DELAY_MS,
    preferred_batch_sizes: [...(file.preferred_batch_sizes ?? [])].sort((a, b) => a - b),
    execution_providers: file.execution_providers,
    version_policy: policy ?? file.version_policy ?? { latest: 1 },
    instances: file.instances ?? 1,
    warmup_batch_sizes: file.warmup_batch_sizes,
    response_cache: file.response_cache ?? false,
  };
  const available: number[] = [];
  for (const v of await versionFolders(dir)) if (await hasVersionFile(root, name, v)) available.push(v);
  if (available.length === 0) throw new Error(`${name}: no <version>/model.onnx`);
  if ('specific' in config.version_policy) {
    const missing = config.version_policy.specific.filter((v) => !available.includes(v));
    if (missing.length) throw new Error(`${name}: version_policy names missing versions ${missing.join(', ')}`);
  }
  const labelsFile = join(dir, 'labels.txt');
  const labels = (await exists(labelsFile)) ? parseLabels(await readFile(labelsFile, 'utf8')) : undefined;
  const stamp = `${await stampOf(join(dir, 'config.json'))}|${await stampOf(labelsFile)}`;
  const modelDigest = createHash('sha256').update(JSON.stringify([config, labels ?? null])).digest('hex');
  const versionWarnings: string[] = [];
  const { served, broken } = await loadServed(available, config.version_policy, async (version) => {
    const path = versionFile(root, name, version);
    const fileStamp = await stampOf(path);
    const bytes = await readFile(path);
    const { rowAligned, ...sig } = readOnnxSignature(bytes, `${name}/${version}/model.onnx`);
    const batchable = isBatchable({ ...sig, rowAligned }, file.max_batch_size !== undefined);
    const digest = createHash('sha256').update(bytes).digest('hex');
    const v: ModelVersion = { model: name, version, path, ...sig, batchable, maxBatchSize: batchable ? (config.max_batch_size ?? defaultMaxBatchSize(sig)) : 0, stamp: fileStamp, digest };
    if (check) {
      try {
        await check({ name, config, labels, stamp, digest: modelDigest }, v);
      } catch (err) {
        throw new Error(`${name}/${version}: ${(err as Error).message}`);
      }
    }
    if (!batchable && file.max_batch_size) {
      versionWarnings.push(`${name}/${version}: first dimension is fixed, so max_batch_size ${file.max_batch_size} is ignored (0)`);
    }
    if (!batchable && !rowAligned && file.max_batch_size === undefined) {
      versionWarnings.push(`${name}/${version}: an output's first dimension is named apart from the inputs' rows (or not named), so its requests run one at a time (a config.json max_batch_size says it is the batch)`);
    }
    return v;
  });
  if (served.length === 0) throw new Error([...broken.values()].join('; '));
  warnings.push(...versionWarnings);
  const unavailable = [...broken].map(([version, reason]) => ({ version, reason })).sort((a, b) => b.version - a.version);
  return { name, config, labels, versions: served.map((s) => s.value), unavailable, stamp, digest: modelDigest };
}

/** One label a line; trailing blank lines dropped. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Reads `root`; throws only when the folder itself cannot be read. `check` as in readModel. */
export async function loadRepository(root: string, check?: VersionCheck): Promise<Repository> {
  const abs = resolve(root);
  const entries = await readdir(abs, { withFileTypes: true }).catch((err: Error) => {
    throw new Error(`model repository ${abs} cannot be read: ${err.message}`);
  });
  const models = new Map<string, Model>();
  const problems: string[] = [];
  const failed = new Map<string, string>();
  const warnings: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const nameProblem = modelNameProblem(e.name);
    if (nameProblem) {
      problems.push(nameProblem);
      failed.set(e.name, nameProblem);
      continue;
    }
    try {
      models.set(e.name, await readModel(abs, e.name, warnings, check));
    } catch (err) {
      problems.push((err as Error).message);
      failed.set(e.name, (err as Error).message);
    }
  }
  return { root: abs, models, problems, failed, warnings };
}

/** The version a request names, or the newest served one. Undefined when not served. */
export function findVersion(model: Model, version?: number): ModelVersion | undefined {
  if (version === undefined) return model.versions[0];
  return model.versions.find((v) => v.version === version);
}
