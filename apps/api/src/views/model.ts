/** PURE: model repository entries → KServe v2 metadata and the /v1/models listing. */
import type { Model, ModelVersion, TensorSpec } from '@maas/shared';

export const PLATFORM = 'onnxruntime_onnx';

const tensor = (t: TensorSpec) => ({ name: t.name, datatype: t.datatype, shape: t.shape });

/** `GET /v2/models/{m}[/versions/{v}]` */
export function kserveMetadata(model: Model, version?: ModelVersion) {
  const v = version ?? model.versions[0]!;
  return {
    name: model.name,
    versions: (version ? [version] : model.versions).map((x) => String(x.version)),
    platform: PLATFORM,
    inputs: v.inputs.map(tensor),
    outputs: v.outputs.map(tensor),
    // Open Inference Protocol parameters are scalars: the labels are in /v1/models and /config.
    parameters: { max_batch_size: v.maxBatchSize, max_queue_delay_ms: model.config.max_queue_delay_ms },
  };
}

/** One entry of `GET /v1/models`; `workers` counts live workers serving any of its versions. */
export function modelListing(model: Model, workersByVersion: Map<number, number>) {
  const v = model.versions[0]!;
  const workers = Math.max(0, ...model.versions.map((x) => workersByVersion.get(x.version) ?? 0));
  return {
    name: model.name,
    versions: model.versions.map((x) => String(x.version)),
    inputs: v.inputs.map(tensor),
    outputs: v.outputs.map(tensor),
    max_batch_size: v.maxBatchSize,
    max_queue_delay_ms: model.config.max_queue_delay_ms,
    labels: model.labels ?? null,
    ready: workers > 0,
    workers,
    versions_ready: model.versions.filter((x) => (workersByVersion.get(x.version) ?? 0) > 0).map((x) => String(x.version)),
  };
}
