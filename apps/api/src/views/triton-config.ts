/**
 * PURE: a model version as Triton's model configuration (`GET /v2/models/{m}/config`, gRPC
 * ModelConfig), in Triton's field names (model_config.proto), from config.json and the ONNX
 * signature. With max_batch_size > 0 Triton's `dims` leave out the batch dimension.
 * `ModelConfig` is the schema of that answer: `tritonConfig` produces its type, and the
 * OpenAPI document shows it.
 */
import { z } from 'zod';
import { warmupRuns, type Datatype, type Model, type ModelVersion, type TensorSpec, type VersionPolicy } from '@maas/shared';
import { PLATFORM } from './model.js';

/** KServe datatype → model_config.proto DataType name */
export const CONFIG_DATATYPE: Record<Datatype, string> = {
  BOOL: 'TYPE_BOOL', UINT8: 'TYPE_UINT8', UINT16: 'TYPE_UINT16', UINT32: 'TYPE_UINT32', UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8', INT16: 'TYPE_INT16', INT32: 'TYPE_INT32', INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16', FP32: 'TYPE_FP32', FP64: 'TYPE_FP64', BYTES: 'TYPE_STRING',
};

const ConfigDatatype = z.enum(Object.values(CONFIG_DATATYPE) as [string, ...string[]]);
const Dims = z.array(z.number().int()).describe('-1 = variable; without the batch dimension when max_batch_size > 0');
const Reshape = z.strictObject({ shape: z.array(z.number().int()) }).optional().describe('a batched tensor of one value a row: dims [1], the model takes [] a row (as Triton writes it)');

/** Triton's model configuration (model_config.proto field names), as `GET /v2/models/{m}/config` answers it. */
export const ModelConfig = z.strictObject({
  name: z.string(),
  platform: z.literal(PLATFORM),
  backend: z.literal('onnxruntime'),
  version_policy: z.union([
    z.strictObject({ latest: z.strictObject({ num_versions: z.number().int().min(1) }) }),
    z.strictObject({ all: z.strictObject({}) }),
    z.strictObject({ specific: z.strictObject({ versions: z.array(z.number().int().min(1)) }) }),
  ]),
  max_batch_size: z.number().int().min(0).describe('0: the model cannot batch'),
  input: z.array(
    z.strictObject({
      name: z.string(), data_type: ConfigDatatype, format: z.literal('FORMAT_NONE'), dims: Dims, reshape: Reshape,
      is_shape_tensor: z.boolean(), allow_ragged_batch: z.boolean(), optional: z.boolean(),
    }),
  ),
  output: z.array(
    z.strictObject({ name: z.string(), data_type: ConfigDatatype, dims: Dims, reshape: Reshape, label_filename: z.string(), is_shape_tensor: z.boolean() }),
  ),
  dynamic_batching: z
    .strictObject({ preferred_batch_size: z.array(z.number().int()), max_queue_delay_microseconds: z.number().int().min(0), preserve_ordering: z.boolean() })
    .optional()
    .describe('only when max_batch_size > 0'),
  instance_group: z.array(z.strictObject({ name: z.string(), kind: z.enum(['KIND_CPU', 'KIND_GPU']), count: z.number().int().min(1), gpus: z.array(z.number().int()) })),
  model_warmup: z
    .array(z.strictObject({
      name: z.string(),
      batch_size: z.number().int().min(1),
      inputs: z.record(z.string(), z.strictObject({ data_type: ConfigDatatype, dims: Dims, zero_data: z.literal(true) })),
      count: z.number().int().min(1),
    }))
    .describe('the runs of zeros each session makes at load, before its first job (config.json warmup_batch_sizes)'),
  response_cache: z.strictObject({ enable: z.boolean() }).describe('config.json response_cache: v2 infer answers kept by the API (RESPONSE_CACHE_MB)'),
  default_model_filename: z.string(),
  parameters: z.record(z.string(), z.strictObject({ string_value: z.string() })),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

function versionPolicy(p: VersionPolicy): ModelConfig['version_policy'] {
  if ('latest' in p) return { latest: { num_versions: p.latest } };
  if ('all' in p) return { all: {} };
  return { specific: { versions: p.specific } };
}

/**
 * A tensor's `dims` and `reshape`. A batched tensor of one value a row (`[-1]`) is written as
 * Triton writes it: `dims: [1]` with `reshape: {shape: []}` (Triton's dims are never empty
 * with batching); the model itself takes `[batch]`.
 */
function dims(t: TensorSpec, batching: boolean): { dims: number[]; reshape?: { shape: number[] } } {
  if (!batching) return { dims: t.shape };
  const rest = t.shape.slice(1);
  return rest.length === 0 ? { dims: [1], reshape: { shape: [] } } : { dims: rest };
}

export function tritonConfig(model: Model, version: ModelVersion, provider = 'cpu'): ModelConfig {
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
      ...dims(t, batching),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: version.outputs.map((t) => ({
      name: t.name,
      data_type: CONFIG_DATATYPE[t.datatype],
      ...dims(t, batching),
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
    model_warmup: warmupRuns(version, model.config.warmup_batch_sizes).map((run) => ({
      name: `zeros_${run.rows}`,
      batch_size: run.rows,
      inputs: Object.fromEntries(run.inputs.map((t) => [t.name, { data_type: CONFIG_DATATYPE[t.datatype], dims: batching ? t.shape.slice(1) : t.shape, zero_data: true as const }])),
      count: 1,
    })),
    response_cache: { enable: model.config.response_cache },
    default_model_filename: 'model.onnx',
    parameters: model.config.execution_providers
      ? { execution_providers: { string_value: model.config.execution_providers.join(',') } }
      : {},
  };
}
