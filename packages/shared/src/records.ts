/**
 * A light entry point, `@maas/shared/records`: reading what Redis keeps of a finished chunk
 * (its tensor record and outcome marker) and a tensor's values, without the rest of the
 * package (zod, BullMQ, ioredis). For the API's result-rendering threads, which then start in
 * tens of milliseconds instead of most of a second (the whole package's import).
 */
export { readTensorRecord } from './tensors/record.js';
export { jsonValueSlicer, rowElements, type JsonValue, type RawTensor } from './tensors/raw.js';
export { parseMarker, type ChunkLine } from './contract/batch.js';
export type { JobError } from './contract/job.js';
