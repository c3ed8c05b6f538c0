import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { readOnnxSignature, rowAligned } from './onnx-metadata.js';

const { onnx } = onnxProto;
const MODELS = new URL('../../../../models/', import.meta.url);
const shipped = async (rel: string) => readOnnxSignature(await readFile(new URL(rel, MODELS)), rel);

type Dim = { dimValue?: number; dimParam?: string };
const tensor = (name: string, elemType: number, dims: Dim[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims } } } });
const model = (graph: Record<string, unknown> | undefined) =>
  onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, graph: graph as never })).finish();

describe('readOnnxSignature', () => {
  describe('shipped models', () => {
    it('mlp/1: input FP32 [-1, 32], output FP32 [-1, 2]', async () => {
      expect(await shipped('mlp/1/model.onnx')).toEqual({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 32] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
        rowAligned: true,
      });
    });

    it('fixed/1: fixed dims, two inputs of different datatypes', async () => {
      expect(await shipped('fixed/1/model.onnx')).toEqual({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }, { name: 'y', datatype: 'INT32', shape: [2, 3] }],
        outputs: [{ name: 'sum', datatype: 'FP32', shape: [2, 3] }],
        rowAligned: true,
      });
    });

    it('penguins/2: a rank-1 INT64 output', async () => {
      const sig = await shipped('penguins/2/model.onnx');
      expect(sig.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
      expect(sig.outputs).toEqual([
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ]);
    });
  });

  describe('synthetic models', () => {
    it('maps symbolic, unknown and non-positive dims to -1 and keeps numbers', () => {
      const bytes = model({
        input: [tensor('in', 1, [{ dimParam: 'batch' }, {}, { dimValue: 0 }, { dimValue: 5 }])],
        output: [tensor('out', 11, [{ dimParam: 'n' }, { dimValue: 7 }])],
      });
      expect(readOnnxSignature(bytes, 'm.onnx')).toEqual({
        inputs: [{ name: 'in', datatype: 'FP32', shape: [-1, -1, -1, 5] }],
        outputs: [{ name: 'out', datatype: 'FP64', shape: [-1, 7] }],
        rowAligned: false, // 'n' is not the input's 'batch'
      });
    });

    it('maps ONNX elem types to KServe datatypes', () => {
      const types: [number, string][] = [[9, 'BOOL'], [2, 'UINT8'], [4, 'UINT16'], [12, 'UINT32'], [13, 'UINT64'], [3, 'INT8'], [5, 'INT16'], [6, 'INT32'], [7, 'INT64'], [8, 'BYTES']];
      const bytes = model({ input: types.map(([t], i) => tensor(`i${i}`, t, [{ dimValue: 1 }])), output: [] });
      expect(readOnnxSignature(bytes, 'm').inputs.map((i) => i.datatype)).toEqual(types.map(([, d]) => d));
    });

    it('refuses an input without shape (its rank is unknown: it read as a scalar, refusing every tensor); an output without one reads as rank 0', () => {
      const shapeless = { name: 's', type: { tensorType: { elemType: 1 } } };
      expect(() => readOnnxSignature(model({ input: [shapeless], output: [] }), 'm')).toThrow("m: input s has no shape (its rank is unknown); the service needs each input's rank");
      const bytes = model({ input: [tensor('x', 1, [{ dimValue: 1 }])], output: [shapeless] });
      expect(readOnnxSignature(bytes, 'm').outputs).toEqual([{ name: 's', datatype: 'FP32', shape: [] }]);
      const scalar = { name: 'k', type: { tensorType: { elemType: 1, shape: { dim: [] } } } };
      expect(readOnnxSignature(model({ input: [scalar], output: [] }), 'm').inputs).toEqual([{ name: 'k', datatype: 'FP32', shape: [] }]);
    });

    it('refuses a graph without inputs (no request could run it), and says an empty file is empty', () => {
      expect(() => readOnnxSignature(model({ input: [], output: [tensor('y', 1, [{ dimValue: 1 }])] }), 'const.onnx')).toThrow('const.onnx: the graph has no inputs, so no request could run it');
      expect(() => readOnnxSignature(new Uint8Array(0), 'zero.onnx')).toThrow('zero.onnx: the file is empty (0 bytes)');
    });

    it('leaves out initializers listed as graph inputs', () => {
      const bytes = model({
        input: [tensor('x', 1, [{ dimParam: 'b' }, { dimValue: 2 }]), tensor('w', 1, [{ dimValue: 2 }, { dimValue: 2 }])],
        initializer: [{ name: 'w', dataType: 1, dims: [2, 2], floatData: [1, 0, 0, 1] }],
        output: [tensor('y', 1, [{ dimParam: 'b' }, { dimValue: 2 }])],
      });
      expect(readOnnxSignature(bytes, 'm').inputs.map((i) => i.name)).toEqual(['x']);
    });

    it('rejects an unsupported elem type (BF16), naming file and tensor', () => {
      const bytes = model({ input: [tensor('h', 16, [{ dimValue: 1 }])], output: [] });
      expect(() => readOnnxSignature(bytes, 'bf16.onnx')).toThrow('bf16.onnx: h has ONNX elem_type 16, which the service does not support');
    });

    it('reads FP16 (elem_type 10)', () => {
      const bytes = model({ input: [tensor('h', 10, [{ dimParam: 'b' }, { dimValue: 2 }])], output: [tensor('y', 10, [{ dimParam: 'b' }])] });
      expect(readOnnxSignature(bytes, 'half.onnx').inputs).toEqual([{ name: 'h', datatype: 'FP16', shape: [-1, 2] }]);
    });

    it('rejects a non-tensor value (sequence)', () => {
      const bytes = model({ input: [{ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }], output: [] });
      expect(() => readOnnxSignature(bytes, 's.onnx')).toThrow(/s\.onnx: seq is not a tensor/);
    });

    it('rejects a model without graph', () => {
      expect(() => readOnnxSignature(model(undefined), 'empty.onnx')).toThrow('empty.onnx: no graph');
    });

    it('throws on bytes that are not protobuf', () => {
      expect(() => readOnnxSignature(Buffer.from('this is not an onnx file'), 'junk.onnx')).toThrow(/^junk\.onnx: not a valid ONNX file \(/);
    });
  });
});

describe('rowAligned', () => {
  it('is true only when each output names its first dimension as an input does (or an input names none)', () => {
    expect(rowAligned(['batch'], ['batch', 'batch'])).toBe(true);
    expect(rowAligned(['batch', 'batch'], [undefined])).toBe(false); // unnamed: nothing says it is the rows (a mean over the batch)
    expect(rowAligned(['batch'], ['batch', undefined])).toBe(false);
    expect(rowAligned([undefined], ['n'])).toBe(true);
    expect(rowAligned(['batch'], ['num_detections'])).toBe(false);
    expect(rowAligned(['a', 'b'], ['b'])).toBe(true);
  });
});
