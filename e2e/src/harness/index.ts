export { Cluster, type ClusterOptions } from './cluster.js';
export { ServiceProcess, REPO_ROOT } from './process.js';
export { modelRepository, SHIPPED_MODELS } from './model-repo.js';
export { call, rows, type Reply } from './http.js';
export { runAlone } from './reference.js';
export { WebhookReceiver, type Received, type Answer } from './webhook-receiver.js';
export { eventually, type EventuallyOptions } from './eventually.js';
export { queuedInferenceJobs, storedBatches } from './queued.js';
