import { describe, expect, it } from 'vitest';
import type { Model, ModelVersion } from '@maas/shared';
import { ModelConfig, tritonConfig } from './triton-config.js';

const v = (over: Partial<ModelVersion> = {}): ModelVersion => ({
  model: 'm', version: 2, path: '/x', batchable: true, maxBatchSize: 8, stamp: '1:1:1', digest: 'd1',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 3] }, { name: 'l', datatype: 'INT64', shape: [-1] }],
  ...over,
});
const model = (over: Partial<Model['config']> = {}, labels?: string[]): Model => ({
  name: 'm', labels, versions: [v()], unavailable: [], stamp: '-|-', digest: 'm1',
  config: { max_batch_size: 8, max_queue_delay_ms: 2.5, preferred_batch_sizes: [4], execution_providers: undefined, version_policy: { latest: 2 }, instances: 2, warmup_batch_sizes: undefined, response_cache: false, ...over },
});

describe('tritonConfig', () => {
  it('drops the batch dimension and describes dynamic batching when the model batches', () => {
    const c = tritonConfig(model({}, ['a', 'b', 'c']), v());
    expect(c).toMatchObject({
      name: 'm', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
      version_policy: { latest: { num_versions: 2 } },
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'p', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt' }, { name: 'l', data_type: 'TYPE_INT64', dims: [1], reshape: { shape: [] }, label_filename: '' }],
      dynamic_batching: { preferred_batch_size: [4], max_queue_delay_microseconds: 2500 },
      instance_group: [{ kind: 'KIND_CPU', count: 2 }],
      model_warmup: [
        { name: 'zeros_1', batch_size: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } }, count: 1 },
        { name: 'zeros_8', batch_size: 8, inputs: { x: { data_type: 'TYPE_FP32', dims: [4], zero_data: true } }, count: 1 },
      ],
    });
    expect(ModelConfig.parse(c)).toEqual(c); // strict: the documented schema holds every field
    expect(tritonConfig(model({ warmup_batch_sizes: [] }), v()).model_warmup).toEqual([]);
  });
  it('keeps full dims and no dynamic batching for a fixed-batch model', () => {
    const fixed = v({ maxBatchSize: 0, batchable: false, inputs: [{ name: 'x', datatype: 'BYTES', shape: [2, 3] }] });
    const c = tritonConfig(model({ version_policy: { all: true } }), fixed);
    expect(c.max_batch_size).toBe(0);
    expect(c.input[0]).toMatchObject({ dims: [2, 3], data_type: 'TYPE_STRING' });
    expect(c.model_warmup).toEqual([{ name: 'zeros_1', batch_size: 1, inputs: { x: { data_type: 'TYPE_STRING', dims: [2, 3], zero_data: true } }, count: 1 }]);
    expect(c).not.toHaveProperty('dynamic_batching');
    expect(c.version_policy).toEqual({ all: {} });
    expect(ModelConfig.parse(c)).toEqual(c);
  });
  it('spells a specific version policy', () => {
    expect(tritonConfig(model({ version_policy: { specific: [1, 3] } }), v()).version_policy).toEqual({ specific: { versions: [1, 3] } });
  });
});
