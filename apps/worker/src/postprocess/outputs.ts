/**
 * PURE: a job's outputs from the parts of it that ran (one part per ONNX run it was spread
 * over): rows joined back in order, the requested outputs kept, classification applied.
 */
import { concatRows, sliceRows, type JobMember, type RawTensor, type RequestedOutput } from '@maas/shared';
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

/** A member's share of the row range [start, end) of its carrier job (members' rows follow one another). */
export interface MemberPiece {
  member: JobMember;
  start: number;
  end: number;
}

/** The members whose rows [start, end) of a carrier holds, each with its part of the range, in order. */
export function memberPieces(members: readonly JobMember[], start: number, end: number): MemberPiece[] {
  const pieces: MemberPiece[] = [];
  let at = 0;
  for (const member of members) {
    const [a, b] = [Math.max(start, at), Math.min(end, at + member.rows)];
    if (a < b) pieces.push({ member, start: a, end: b });
    at += member.rows;
  }
  return pieces;
}

/** The row ranges [start, end) of the members named in `ids`. */
export function memberRanges(members: readonly JobMember[], ids: ReadonlySet<string> | ReadonlyMap<string, unknown>): [number, number][] {
  const ranges: [number, number][] = [];
  let at = 0;
  for (const m of members) {
    if (ids.has(m.id)) ranges.push([at, at + m.rows]);
    at += m.rows;
  }
  return ranges;
}

/** `parts` without the rows in `ranges` (a part straddling one is cut around it): what `joinParts` then joins holds the other rows only. */
export function withoutRows(parts: readonly OutputPart[], ranges: readonly [number, number][]): OutputPart[] {
  const kept: OutputPart[] = [];
  for (const p of parts) {
    const rows = p.outputs[0]?.shape[0] ?? 0;
    let at = p.start;
    const end = p.start + rows;
    for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
      if (b <= at || a >= end) continue;
      if (a > at) kept.push({ start: at, outputs: p.outputs.map((o) => sliceRows(o, at - p.start, a - p.start)) });
      at = Math.max(at, b);
    }
    if (at < end) kept.push({ start: at, outputs: at === p.start ? p.outputs : p.outputs.map((o) => sliceRows(o, at - p.start, end - p.start)) });
  }
  return kept;
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
