/**
 * PURE: a model version as Triton's model configuration (`GET /v2/models/{m}/config`, gRPC
 * ModelConfig), in Triton's field names (model_config.proto), from config.json and the ONNX
 * signature. With max_batch_size > 0 Triton's `dims` leave out the batch dimension.
 */
import type { Datatype, Model, ModelVersion, TensorSpec, VersionPolicy } from '@maas/shared';
import { PLATFORM } from './model.js';

/** KServe datatype → model_config.proto DataType name */
export const CONFIG_DATATYPE: Record<Datatype, string> = {
  BOOL: 'TYPE_BOOL', UINT8: 'TYPE_UINT8', UINT16: 'TYPE_UINT16', UINT32: 'TYPE_UINT32', UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8', INT16: 'TYPE_INT16', INT32: 'TYPE_INT32', INT64: 'TYPE_INT64',
  FP32: 'TYPE_FP32', FP64: 'TYPE_FP64', BYTES: 'TYPE_STRING',
};

function versionPolicy(p: VersionPolicy) {
  if ('latest' in p) return { latest: { num_versions: p.latest } };
  if ('all' in p) return { all: {} };
  return { specific: { versions: p.specific } };
}

const dims = (t: TensorSpec, batching: boolean) => (batching ? t.shape.slice(1) : t.shape);

export function tritonConfig(model: Model, version: ModelVersion, provider = 'cpu') {
  const batching = version.maxBatchSize > 0;
  return {
    name: model.name,
    platform: PLATFORM,
    backend: 'onnxruntime',
    version_policy: versionPolicy(model.config.version_policy),
    max_batch_size: version.maxBatchSize,
    input: version.inputs.map((t) => ({
      name: t.name,
      data_type: CONFIG_DATATYPE[t.datatype],
      format: 'FORMAT_NONE',
      dims: dims(t, batching),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: version.outputs.map((t) => ({
      name: t.name,
      data_type: CONFIG_DATATYPE[t.datatype],
      dims: dims(t, batching),
      label_filename: model.labels && t.shape.length === 2 ? 'labels.txt' : '',
      is_shape_tensor: false,
    })),
    ...(batching
      ? {
          dynamic_batching: {
            preferred_batch_size: model.config.preferred_batch_sizes,
            max_queue_delay_microseconds: Math.round(model.config.max_queue_delay_ms * 1000),
            preserve_ordering: false,
          },
        }
      : {}),
    instance_group: [
      { name: model.name, kind: provider === 'cuda' ? 'KIND_GPU' : 'KIND_CPU', count: model.config.instances, gpus: [] },
    ],
    default_model_filename: 'model.onnx',
    parameters: model.config.execution_providers
      ? { execution_providers: { string_value: model.config.execution_providers.join(',') } }
      : {},
  };
}
