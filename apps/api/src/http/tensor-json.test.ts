import { describe, expect, it } from 'vitest';
import { BinaryData } from '@maas/shared';
import { MAX_JSON_CONTAINERS } from './json-bounds.js';
import { readTensorJson } from './tensor-json.js';

const read = (body: string) => readTensorJson(Buffer.from(body));

/** The request as JSON.parse reads it, FP32 tensors' flat data as the float32 bytes the checks would make of it. */
function expected(body: string, fastTensors: Set<string>): unknown {
  const parsed = JSON.parse(body) as { inputs?: { name: string; data: number[] }[] };
  for (const t of parsed.inputs ?? []) if (fastTensors.has(t.name)) (t as { data: unknown }).data = new BinaryData(new Uint8Array(Float32Array.from(t.data).buffer));
  return parsed;
}

describe('readTensorJson', () => {
  it('reads an FP32 tensor whose shape and datatype come before its data into bytes; everything else as JSON.parse does', () => {
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = Array.from({ length: 3000 }, (_, i) => {
      const v = (rnd() * 2 - 1) * 10 ** (Math.floor(rnd() * 12) - 6);
      return i % 3 === 0 ? JSON.stringify(Math.fround(v)) : i % 3 === 1 ? JSON.stringify(v) : v.toPrecision(1 + (i % 21));
    });
    const body = `{"id":"req \\"1\\"","parameters":{"x":[1,{"y":"]}"}]},"inputs":[{"name":"a","shape":[2,1500],"datatype":"FP32","data":[${values.join(', ')}]},`
      + `{"name":"b","datatype":"FP64","shape":[2],"data":[0.1,2]},{"name":"c","data":[1,2],"datatype":"FP32","shape":[2]},`
      + `{"name":"d","shape":[1,2],"datatype":"FP32","data":[[1,2]]},{"name":"e","shape":[0],"datatype":"FP32","data":[]}],"outputs":[{"name":"o","parameters":{"binary_data":true}}]}`;
    const got = read(body);
    expect(got).toEqual(expected(body, new Set(['a', 'e'])));
    expect((got!['inputs'] as { data: unknown }[])[2]!.data).toEqual([1, 2]); // data before its datatype: a list
    expect(read('{}')).toEqual({});
    expect(read(' { "inputs" : [ ] , "model" : "m" } ')).toEqual({ inputs: [], model: 'm' });
    expect(read('{"inputs":{"x":[1]}}')).toEqual({ inputs: { x: [1] } });
  });

  it('a tensor\'s data it does not read into bytes keeps its integers past 2^53 exact (BigInts); other values are JSON.parse\'s', () => {
    const got = read('{"parameters":{"seed":9007199254740993},"inputs":[{"name":"ids","datatype":"INT64","shape":[3],"data":[9223372036854775807,-9007199254740993,5]},'
      + '{"name":"n","datatype":"INT64","shape":[1,1],"data":[[18446744073709551615]]}]}');
    expect(got).toEqual({
      parameters: { seed: 9007199254740992 },
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [3], data: [9223372036854775807n, -9007199254740993n, 5] },
        { name: 'n', datatype: 'INT64', shape: [1, 1], data: [[18446744073709551615n]] },
      ],
    });
  });

  it('every value is the float32 of what JSON.parse reads, float32 midpoints included', () => {
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const nums: string[] = [];
    for (let i = 0; i < 5000; i++) {
      bits[0] = (i * 2654435761) % 0x7f7fffff;
      const below = f[0]!;
      bits[0]++;
      const mid = (below + f[0]!) / 2;
      nums.push(mid.toPrecision(17 + (i % 30)), String(below), `-${mid.toPrecision(21)}`, `${i}e-3`);
    }
    const body = `{"inputs":[{"name":"x","shape":[${nums.length}],"datatype":"FP32","data":[${nums.join(',')}]}]}`;
    expect(read(body)).toEqual(expected(body, new Set(['x'])));
  });

  it('leaves to JSON.parse (undefined) whatever it does not read exactly as JSON.parse would', () => {
    const t = (data: string, extra = '') => `{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":${data}${extra}}]}`;
    for (const body of [
      t('[1,2,1e39]'), // out of float32's range
      t('[1,2,"3"]'),
      t('[1,2,03]'),
      t('[1,2,3]', ',"data":[1,2,3]'), // a key twice
      '{"inputs":[],"inputs":[]}',
      '{"__proto__":{"x":1},"inputs":[]}',
      '{"in\\u0070uts":[]}', // an escape in a key
      '{"inputs":[]} x', // something after
      '{"inputs":[}',
      '[1,2]', // not an object
      '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2,3]}]',
      '',
    ]) expect(read(body), body).toBeUndefined();
  });

  it('refuses a flat list of numbers of another length than its shape holds, worded as the checks word it (JSON.parse of 62 MB only to say so held the loop 6-11 s)', () => {
    const t = (data: string) => `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[0]},{"name":"x","shape":[3],"datatype":"FP32","data":${data}}]}`;
    for (const [data, got] of [['[1,2]', 2], ['[1,2,3,4]', 4], ['[ 1 , -2.5e3 , 3 , 4 ]', 4], ['[]', 0]] as const) {
      expect(() => read(t(data)), data).toThrow(expect.objectContaining({ issues: [{ path: 'inputs[1].data', message: `data has ${got} elements but shape [3] needs 3` }] }));
    }
    // Entries that are no objects are read as JSON.parse reads them (the checks word them).
    expect(read('{"inputs":[null,1,"x",[]]}')).toEqual({ inputs: [null, 1, 'x', []] });
    // A shape given again after the data is JSON.parse's (the last one counts): read by it, valid.
    const again = '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2,3,4],"shape":[4]}]}';
    expect(read(again)).toBeUndefined();
    // A list that is not all numbers is JSON.parse's to read and word.
    for (const data of ['[1,2,"3",4]', '[1,2,[3]]', '[1,2,03,4]']) expect(read(t(data)), data).toBeUndefined();
  });

  it('refuses more than MAX_TENSORS inputs as it reads them, before JSON.parse would make each an object', () => {
    expect(() => read(`{"inputs":[${new Array(5000).fill('{}').join(',')}]}`)).toThrow(expect.objectContaining({ issues: [{ path: 'inputs', message: 'at most 4096 tensors (got more)' }] }));
    expect(read(`{"inputs":[${new Array(4096).fill('{}').join(',')}]}`)).toEqual({ inputs: new Array(4096).fill({}) });
  });

  it("leaves a body to the general path once the values it skips hold more than MAX_JSON_CONTAINERS arrays and objects (JSON.parse would be handed them)", () => {
    const body = (n: number) => `{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}],"outputs":[${new Array(n).fill('{}').join(',')}],"parameters":{"p":[[1]]}}`;
    // Under the bound the skipped values are JSON.parse's, each from its own bytes.
    expect((read(body(1000)) as { outputs: unknown[] }).outputs).toHaveLength(1000);
    // The shape, the outputs list, the parameters and their two lists are five more: the last `[` is one too many.
    expect(read(body(MAX_JSON_CONTAINERS - 5))).toBeDefined();
    expect(read(body(MAX_JSON_CONTAINERS - 4))).toBeUndefined();
  });

  it('believes a shape only as far as the body can hold its values', () => {
    const body = '{"inputs":[{"name":"x","shape":[100000000000],"datatype":"FP32","data":[1,2,3]}]}';
    expect(read(body)).toEqual(JSON.parse(body));
  });
});
