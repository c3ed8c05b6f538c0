/**
 * `WORKER_MODELS`: the models a worker serves, each entry `name` (every served version) or
 * `name:version`; empty: every model. Read by the worker to choose what it loads, and by the
 * API to know whether a load should wait for some worker to serve the model.
 */
export function workerModelsSelect(entries: readonly string[], model: string, version?: number): boolean {
  if (entries.length === 0) return true;
  return entries.some((e) => e === model || (version === undefined ? e.startsWith(`${model}:`) : e === `${model}:${version}`));
}

/** The model a `WORKER_MODELS` entry names (`name` of `name` or `name:version`). */
export const modelOfEntry = (entry: string): string => entry.split(':')[0]!;
