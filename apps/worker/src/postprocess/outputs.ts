/**
 * PURE: a job's outputs from the parts of it that ran (one part per ONNX run it was spread
 * over): rows joined back in order, the requested outputs kept, classification applied.
 */
import { concatRows, type RawTensor, type RequestedOutput } from '@maas/shared';
import { classify } from './classify.js';

export interface OutputPart {
  /** first row of the job this part holds */
  start: number;
  outputs: RawTensor[];
}

export function joinParts(parts: readonly OutputPart[]): RawTensor[] {
  const ordered = [...parts].sort((a, b) => a.start - b.start);
  const first = ordered[0];
  if (!first) return [];
  return first.outputs.map((_, i) => concatRows(ordered.map((p) => p.outputs[i]!)));
}

/** Requested outputs (all of them when none is named), classification applied where asked. */
export function selectOutputs(all: RawTensor[], requested: readonly RequestedOutput[], labels: readonly string[] | undefined): RawTensor[] {
  if (requested.length === 0) return all;
  return requested.map((r) => {
    const t = all.find((o) => o.name === r.name);
    if (!t) throw new Error(`model produced no output '${r.name}'`);
    const k = r.parameters?.classification;
    return k === undefined ? t : classify(t, k, labels);
  });
}
