// The full list of files under models/, as data. main.ts writes or checks
// them and the test compares them with what is committed, so this is the one
// place that decides what the repo ships.
import { buildFixedModel, FIXED_CONFIG } from './models/fixed.js';
import { buildMlpModel, MLP_CONFIG } from './models/mlp.js';
import { buildPenguinModels, PENGUIN_CONFIG, PENGUIN_LABELS } from './models/penguins.js';

/** Path relative to models/ (always '/'-separated) -> file content. */
export type GeneratedFiles = Map<string, Uint8Array | string>;

/** Pretty-printed with 2 spaces and a trailing newline, so the committed files diff cleanly. */
export function configJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export interface GenerateResult {
  files: GeneratedFiles;
  /** Training-set accuracy of the penguin models (float64 evaluation). */
  penguinAccuracy: { v1: number; v2: number };
}

export function generate(): GenerateResult {
  const penguins = buildPenguinModels();
  // Sorted by path: the order main.ts prints them in.
  const entries: [string, Uint8Array | string][] = [
    ['fixed/1/model.onnx', buildFixedModel()],
    ['fixed/config.json', configJson(FIXED_CONFIG)],
    ['mlp/1/model.onnx', buildMlpModel()],
    ['mlp/config.json', configJson(MLP_CONFIG)],
    ['penguins/1/model.onnx', penguins.v1],
    ['penguins/2/model.onnx', penguins.v2],
    ['penguins/config.json', configJson(PENGUIN_CONFIG)],
    ['penguins/labels.txt', PENGUIN_LABELS],
  ];
  return { files: new Map(entries), penguinAccuracy: penguins.accuracy };
}

export function generateAll(): GeneratedFiles {
  return generate().files;
}

/** File content as bytes (strings are UTF-8). */
export function toBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}
