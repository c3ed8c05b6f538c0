/**
 * PURE: the form a batch's results are served in (`GET /v1/batches/{id}/results`): NDJSON (the
 * contract's), or, as an extension, one output's rows as a NumPy `.npy` array when the client
 * prefers `application/x-npy`.
 */
import { AppError, DATATYPE_INFO, type TensorSpec } from '@maas/shared';
import { NPY_DESCR, npyHeader } from './npy.js';

/** What a completed batch's `.npy` results are made of. */
export interface NpyResults {
  /** the output the array holds */
  output: string;
  /** its dtype */
  descr: string;
  /** its rows: the batch's */
  rows: number;
  /** the shape of a row, for an array of no rows (the chunks' outputs say it otherwise) */
  rest: number[];
  /**
   * The whole file's bytes, header included, when the model's signature fixes a row's shape
   * (no symbolic dimension past the first): its answer's Content-Length. A chunk whose rows
   * come otherwise ends the answer (batch-results.ts), as a shape that changes between chunks does.
   */
  length: number | undefined;
}

/** What `npyResults` reads of a completed batch. */
export interface NpyResultsOf {
  id: string;
  model: string;
  outputs: readonly TensorSpec[];
  /** lines that failed */
  failed: number;
  total: number;
  /** the rows uploaded, as stored (absent for a batch stored before they were) */
  rows: string | undefined;
}

/** A 400 unless `output` is one of the model's outputs (`names`): `?output=` names one whatever form the results come in. */
export function checkOutputName(model: string, names: readonly string[], output: string): void {
  if (!names.includes(output)) throw new AppError('invalid-input', `?output=${output} names no output of ${model}; its outputs: ${names.join(', ')}`);
}

/**
 * The `.npy` results of a completed batch, for one output (`output` names it when the model has
 * several), or why there are none: a 400 for an `output` the model does not have; a 406
 * (`not-acceptable`) when an array cannot hold them: several outputs and none named, a datatype
 * with no dtype, failed lines (an array cannot hold their errors), a batch that predates them.
 */
export function npyResults(b: NpyResultsOf, output: string | undefined): NpyResults {
  const names = b.outputs.map((o) => o.name);
  if (output !== undefined) checkOutputName(b.model, names, output);
  const name = output ?? (names.length === 1 ? names[0] : undefined);
  const spec = b.outputs.find((o) => o.name === name);
  if (!spec) throw new AppError('not-acceptable', `name one of the outputs ${names.join(', ')} with ?output=… for .npy results`);
  const descr = NPY_DESCR[spec.datatype]?.[0];
  if (!descr) throw new AppError('not-acceptable', `output '${spec.name}' is ${spec.datatype}, which an .npy file cannot hold: get the results as NDJSON`);
  if (b.failed > 0) {
    throw new AppError('not-acceptable', `${b.failed} of ${b.total} lines failed, and an .npy file cannot hold their errors: get the results as NDJSON`);
  }
  if (b.rows === undefined) throw new AppError('not-acceptable', `batch ${b.id} predates .npy results: get the results as NDJSON`);
  const rows = Number(b.rows);
  const row = spec.shape.slice(1);
  const fixed = row.every((d) => d >= 0);
  const rest = row.map((d) => Math.max(d, 0));
  const length = fixed ? npyHeader(descr, [rows, ...rest]).length + rows * rest.reduce((a, d) => a * d, 1) * DATATYPE_INFO[spec.datatype].bytes : undefined;
  return { output: spec.name, descr, rows, rest, length };
}

export type ResultsForm<T> = { type: 'ndjson' } | { type: 'npy'; npy: T };

/**
 * Which form a request gets. `wantsNpy`: the client prefers an `.npy` type to NDJSON (by its
 * `Accept`); `acceptsNdjson`: NDJSON is acceptable to it at all; `npy`: the `.npy` results the
 * batch can give (`npyResults`), throwing why not. `.npy` results that cannot be given fall back
 * to NDJSON when the client accepts that too, and are a 406 only when it does not; their other
 * refusals (a 400 for an `?output=` naming no output) stand. A client that prefers no `.npy`
 * type gets NDJSON, also one whose `Accept` names neither (as before the `.npy` extension).
 */
export function resultsForm<T>(wantsNpy: boolean, acceptsNdjson: boolean, npy: () => T): ResultsForm<T> {
  if (!wantsNpy) return { type: 'ndjson' };
  try {
    return { type: 'npy', npy: npy() };
  } catch (err) {
    if (acceptsNdjson && err instanceof AppError && err.type === 'not-acceptable') return { type: 'ndjson' };
    throw err;
  }
}

/** The media ranges that cover NDJSON. */
const NDJSON_RANGES = new Set(['application/x-ndjson', 'application/*', '*/*']);

/**
 * PURE: whether an `Accept` header refuses NDJSON in so many words: a range that covers it
 * (`application/x-ndjson`, `application/*`, `*\/*`) with `q=0`. The caller asks this only of a
 * client to which NDJSON is not acceptable (negotiation, which weighs the ranges, said so): such
 * a client gets a 406 rather than the NDJSON it refused. One whose `Accept` merely names
 * neither NDJSON nor `.npy` (`application/json`, `text/html`) still gets NDJSON, as RFC 9110
 * allows (§12.5.1): generic clients send such headers for every request.
 */
export function refusesNdjson(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((entry) => {
    const [type, ...params] = entry.split(';').map((p) => p.trim().toLowerCase());
    return NDJSON_RANGES.has(type ?? '') && params.some((p) => /^q\s*=\s*0(\.0{0,3})?$/.test(p));
  });
}
