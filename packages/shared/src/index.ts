/** @maas/shared: the contract types, pure tensor logic, model repository and Redis naming. */
export { DATATYPES, DATATYPE_INFO, datatypeFromOnnx, datatypeFromOrt, isDatatype } from './contract/datatypes.js';
export type { Datatype, DatatypeInfo, OrtType } from './contract/datatypes.js';
export { JsonTensor, InputTensor, ValuesArray, BinaryData, RequestedOutput, ClassificationParams, absentIfNull, sharedMemoryProblem, MAX_DIMS, MAX_TENSORS } from './contract/tensor.js';
export type { OutputTensor, TensorSpec } from './contract/tensor.js';
export {
  JobRequest, jobRequestIssues, VersionParam, WebhookUrl, Metadata, WEBHOOK_EVENTS, JOB_ENDING_TYPES, JOB_STATUSES, DEFAULT_PRIORITY, MAX_PRIORITY, MAX_TIMEOUT_MS,
  isTerminal,
} from './contract/job.js';
export type { JobObject, JobStatus, JobError, JobMetrics, WebhookEvent } from './contract/job.js';
export * from './errors.js';
export { BoolEnv, CsvEnv, hostPort, ListenHostEnv, PortEnv, intEnv, megabytes, numberEnv, parsedEnv, parseEnv } from './env.js';
export { newJobId, newBatchId, newWorkerId, isWellFormedId } from './ids.js';
export { createLogger, logFormat, LoggingEnv, throttledErrorLog } from './logger.js';
export { LogThrottle } from './log-throttle.js';
export { urlOrigin, withoutValues } from './log-values.js';
export type { Logger } from './logger.js';
export { PAYLOAD_VERSION, metadataBytes, CANCELED_BEFORE_IT_RAN, CANCELED_BY_REQUEST, EXPIRED_IN_QUEUE, encodeJobError, decodeJobError, modelDigests } from './payloads.js';
export type { InferenceJobData, InferenceJobResult, JobMember } from './payloads.js';
export * from './queues.js';
export { RedisUrl, redisOptions, bullmqConnectionOptions, reconnectDelay, RECONNECT_MAX_MS, connectRedis, createRedis, isClusterUrl, isRedisUnavailable, isCommandTimeout, REDIS_COMMAND_TIMEOUT_MS, redisUnavailableReason, refusesWrites, whileRefused, REFUSED_RETRY_MS, evictionPolicyProblem, execReplies, scanKeys, ARGS_A_COMMAND, sendInSlices, answeredWithin, withoutCredentials } from './redis.js';
export type { RedisRole } from './redis.js';
export { logRedisReturn } from './redis-outage.js';
export { startRedisServer, freePort, MISSING_REDIS_HINT } from './redis-server.js';
export type { RedisServer, RedisServerOptions } from './redis-server.js';
export { ModelConfigFile, VersionPolicy, MIN_DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_QUEUE_DELAY_MS } from './models/config.js';
export type { ModelConfig } from './models/config.js';
export { servedVersions, servedAmong, loadServed } from './models/versions.js';
export { scanRepository, diffScans, settledChanges, stampOf } from './models/scan.js';
export type { ModelScan, RepositoryScan, ModelChange } from './models/scan.js';
export { RepositoryPoller } from './models/poller.js';
export { chunkRows, CHUNK_BYTES } from './models/chunk-size.js';
export { BlockPool } from './block-pool.js';
export { readOnnxSignature } from './models/onnx-metadata.js';
export { warmupRuns, warmupBytes, WARMUP_DEFAULT_MAX_BYTES, WARMUP_MAX_BYTES } from './models/warmup.js';
export type { WarmupRun, WarmupInput } from './models/warmup.js';
export { loadRepository, readModel, findVersion, parseLabels, MODEL_NAME, modelNameProblem, isModelFolder, versionFile, hasVersionFile } from './models/repository.js';
export { VERSION_TEXT } from './models/version-text.js';
export { modelFolders, versionFolders, versionFoldersOf } from './models/version-folders.js';
export { modelOfEntry, workerModelsSelect } from './models/worker-models.js';
export type { Model, ModelInfo, ModelVersion, Repository, VersionCheck } from './models/repository.js';
export { checkRequest, misfit } from './tensors/check.js';
export type { Signature, CheckedRequest, CheckResult } from './tensors/check.js';
export { flattenData } from './tensors/flatten.js';
export { encodeValues, tensorOf } from './tensors/encode.js';
export { HALF_MAX, halfBits, halfValue } from './tensors/half.js';
export {
  toEncoded, fromEncoded, typedView, toJsonValues, jsonValueReader, jsonValueSlicer, elementCount, shapeElementCount, rowElements,
} from './tensors/raw.js';
export type { RawTensor, EncodedTensor, JsonValue } from './tensors/raw.js';
export { numericBytes, packPayload, RAW_PAYLOAD_MIN_BYTES, unpackPayload } from './tensors/payload.js';
export { outputTensor, rawOf, valuesMade } from './tensors/output-tensor.js';
export { exactFloat, exactInteger, exactJson, floatOf, integerOf } from './tensors/exact-integers.js';
export { readTensorRecord, tensorRecord } from './tensors/record.js';
export { concatRows, sliceOutputRows, sliceRows } from './tensors/rows.js';
export { toJobObject, toMemberObject, jobStatus, ranWith } from './views/job.js';
export type { StoredJob, QueueState } from './views/job.js';
export {
  SECRET_PREFIX, secretProblem, parseSecret, generateSecret, sign, signedHeaders, verify,
} from './webhooks/sign.js';
export type { SignedHeaders } from './webhooks/sign.js';
export {
  STANDARD_RETRY_SCHEDULE_MS, parseDuration, parseSchedule, parseRetryAfter, retryDelay, totalAttempts,
} from './webhooks/schedule.js';
export {
  addressProblem, webhookUrlProblem, resolveTarget, bareHost, TargetRefusedError,
} from './webhooks/ssrf.js';
export type { TargetPolicy, ResolvedTarget, Lookup } from './webhooks/ssrf.js';
export { WEBHOOK_EVENT_TYPES, MESSAGE_ID, messageId, eventBody, jobWebhookEvent, batchWebhookEvent } from './webhooks/events.js';
export type { WebhookEventType, WebhookEventData, WebhookEventInput, DeliveryJobData } from './webhooks/events.js';
export { DeliveryStore } from './webhooks/store.js';
export type { DeliveryRecord, DeliveryStatus, AttemptRecord } from './webhooks/store.js';
export { WebhookEmitter } from './webhooks/emitter.js';
export type { DeliveryQueue } from './webhooks/emitter.js';
export { webhookBacklog, WEBHOOK_BACKLOG_SOON_MS } from './webhooks/backlog.js';
export { TenantSecrets, DEFAULT_SECRET_OVERLAP_MS, openModeSecrets } from './webhooks/tenant-secrets.js';
export { checkConfiguredSecret, secretFingerprint, secretMismatch, CONFIGURED_SECRET_KEY } from './webhooks/configured-secret.js';
export type { SecretRole } from './webhooks/configured-secret.js';
export type { TenantSecretsOptions } from './webhooks/tenant-secrets.js';
export { readRing, signingSecrets } from './webhooks/secret-ring.js';
export type { SecretRing } from './webhooks/secret-ring.js';
export { DEFAULT_TENANT } from './tenants.js';
export { WebhookSecretEnv, RetryScheduleEnv } from './webhooks/env.js';
export {
  BATCH_STATUSES, parseMarker, ranWithRows, succeededMarker, partlyMarker, failedMarker, canceledMarker,
} from './contract/batch.js';
export type { BatchObject, BatchStatus, ChunkLine, ChunkMarker, ChunkOutcome } from './contract/batch.js';
export { toBatchObject, batchCounts, readBatch, type BatchCounts } from './views/batch.js';
export type { BatchMeta } from './views/batch.js';
export { runMain, onShutdown } from './lifecycle.js';
export { Periodic } from './periodic.js';
export { drainWhileRedisAnswers, RedisGoneError, redisAnswers } from './drain-guard.js';
export { SERVICE_NODE_FLAGS } from './node-flags.js';
export { STAT, batchFields, msToNs, toModelStatistics, ModelStatistics, StatisticDuration } from './models/stats.js';
export { StatsWriter } from './models/stats-writer.js';
export { armDieAt, dieAt, DiePointEnv } from './test-hooks.js';
export type { DiePoint } from './test-hooks.js';
export { batchCompletedItem, decodeEntry, endMarker, eventItem, parseEndMarker, UnreadableEntryError } from './ledger/entry.js';
export type { Ending, EndMarker, OutboxEntry, OutboxItem } from './ledger/entry.js';
export { cancelBatch, cancelJob, cancelMember, chunkLanded, claimUploadRemoval, expireJob, markUploaded, OUTBOX_LEASE_MS, recordChunks, startBatch, recordJobEndings, recordJobStarts, registerOutbox } from './ledger/record.js';
export type { CancelVerdict, JobEndingInput, Recorded } from './ledger/record.js';
export { OutboxRelay } from './ledger/relay.js';
export { CANCEL_JOB_LUA, CANCEL_MEMBER_LUA, CLAIM_OUTBOX_LUA, DUE_DEADLINES_LUA, END_JOBS_LUA, EXPIRE_JOB_LUA, START_JOBS_LUA } from './ledger/scripts.js';
export { EVENT_LOOP_SAMPLE_MS, LATENCY_BUCKETS_S, forExposition, withoutSampleInterval, type MetricsJson } from './process-metrics.js';
export { clusterNow, clusterClockOffset, keepClusterClock, syncClusterClock, offsetFrom, takesReading, resetClusterClock, CLUSTER_CLOCK_SYNC_MS } from './cluster-clock.js';
export type { ClockRider } from './cluster-clock.js';
export { DataEpoch, epochChange, EPOCH_CHANGE_MESSAGES } from './data-epoch.js';
export type { EpochChange, EpochReading } from './data-epoch.js';
export { FORGET_DEAD_LUA, FORGET_GONE_LUA } from './worker-registry.js';
