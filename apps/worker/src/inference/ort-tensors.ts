/** KServe-typed wire tensors ↔ onnxruntime tensors (runs inside a session thread). */
import * as ort from 'onnxruntime-node';
import { DATATYPE_INFO, datatypeFromOrt } from '@maas/shared';
import type { WireTensor } from './protocol.js';

export function toOrt(t: WireTensor): ort.Tensor {
  const info = DATATYPE_INFO[t.datatype];
  if (t.datatype === 'BYTES') return new ort.Tensor('string', t.strings ?? [], t.shape);
  const Arr = info.array!;
  const bytes = t.bytes ?? new ArrayBuffer(0);
  const data = new Arr(bytes, 0, bytes.byteLength / info.bytes);
  return new ort.Tensor(info.ort as 'float32', data as Float32Array, t.shape);
}

/** An ORT output → a wire tensor; returns the buffers to transfer. */
export function fromOrt(name: string, t: ort.Tensor): { tensor: WireTensor; transfer: ArrayBuffer[] } {
  const datatype = datatypeFromOrt(t.type);
  if (!datatype) throw new Error(`output ${name} has type ${t.type}, which the service does not carry`);
  const shape = t.dims.map(Number);
  if (datatype === 'BYTES') return { tensor: { name, datatype, shape, strings: t.data as string[] }, transfer: [] };
  const view = t.data as Float32Array;
  // Copy out: the tensor's buffer may belong to ORT or be shared with other outputs.
  const bytes = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
  return { tensor: { name, datatype, shape, bytes }, transfer: [bytes] };
}
