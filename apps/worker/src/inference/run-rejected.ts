/**
 * A run onnxruntime refused for what its feeds hold (an index past a table's end, a value a
 * kernel rejects): the rows' doing, not the worker's or the session's, so the isolation of
 * failed-runs.ts finds the job at fault and its failure is a warning, not an incident. Any other
 * run failure (a session closing, an output the service cannot carry) is a plain Error.
 */
export class RunRejectedError extends Error {
  override readonly name = 'RunRejectedError';
}
