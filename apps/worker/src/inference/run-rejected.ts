/**
 * A run onnxruntime refused for what its feeds hold (an index past a table's end, a value a
 * kernel rejects): the rows' doing, not the worker's or the session's, so the isolation of
 * failed-runs.ts finds the job at fault and its failure is a warning, not an incident. Any other
 * run failure (a session closing, an output the service cannot carry) is a plain Error.
 */
export class RunRejectedError extends Error {
  override readonly name = 'RunRejectedError';
}

/**
 * PURE: whether a failure of `session.run` itself was the rows' doing. Not when its words name
 * memory, an execution provider or the session's state: an allocation that failed, a GPU fault
 * or a released session fails every run alike, an incident an error line must show (a review).
 */
export function rejectedByRows(message: string): boolean {
  return !/alloc|out of memory|CUDA|cuDNN|cublas|TensorRT|released|disposed/i.test(message);
}
