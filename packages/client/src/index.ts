/**
 * @maas/client: a typed SDK for the maas inference cluster (CONTRACT §4–§5). Node ≥ 20.11,
 * ESM; one runtime dependency (lossless-json, for integers past 2^53).
 */
export { MaasClient, type MaasClientOptions, type InferOptions } from './client.js';
export { Jobs, type CreateJobOptions, type GetJobOptions, type WaitOptions, type RunOptions, type SucceededJob } from './jobs.js';
export {
  Batches, NdjsonFile, ndjsonFile, type SubmitBatchOptions, type GetBatchOptions, type BatchWaitOptions, type UploadProgress, type DownloadResult,
  type ListBatchesOptions, type ResultsOptions, type DownloadOptions,
} from './batches.js';
export { encodeNpy, npyHeader, NpyFile, npyFile, type NpyArray } from './npy.js';
export { Models } from './models.js';
export { Health } from './health.js';
export type { CallOptions } from './transport.js';
export { DEFAULT_RETRY, parseRetryAfter, type RetryOptions } from './retry.js';
export { splitLines, parseNdjson, encodeNdjson, toNdjsonLine, type LineSource } from './ndjson.js';
export { verifyWebhook, signWebhook, DEFAULT_TOLERANCE_SECONDS, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.js';
export {
  MaasError, MaasApiError, MaasConnectionError, MaasTimeoutError, MaasWaitTimeoutError, MaasJobFailedError, MaasProtocolError,
  WebhookVerificationError, type WebhookVerificationReason,
} from './errors.js';
export { batchEnded, isTerminal, TERMINAL_STATUSES } from './types.js';
export type {
  Datatype, TensorData, NumericArray, Tensor, OutputTensor, RequestedOutput, JobRequest, Job, JobStatus, JobError, JobMetrics, Batch, BatchStatus,
  BatchCounts, BatchPage, BatchLine, BatchResult, TensorSpec, ModelInfo, ModelMetadata, InferResponse, HealthStatus, Problem, ProblemIssue, WebhookSecrets,
  WebhookEvent, WebhookEventKind,
} from './types.js';
