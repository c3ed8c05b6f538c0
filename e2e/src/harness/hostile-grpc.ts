/**
 * fast-check arbitraries of malformed and hostile calls to the gRPC front door (KServe v2
 * `inference.GRPCInferenceService`), the counterpart of hostile.ts for REST. Every ModelInfer
 * request is invalid by construction: a valid request for a shipped model (typed contents or
 * raw_input_contents) gets at least one defect no model accepts (wrong datatype, a shape that
 * disagrees with its contents or the model, negative or huge dimensions, raw contents of the
 * wrong length or count, unknown model, version, input or output), plus noise that a valid
 * request may carry too (odd parameters and ids). Some are sent as broken bytes instead:
 * truncated, with junk appended, random, or larger than the server's message limit. Other RPCs
 * get odd names of models that do not exist, or random bytes. So a call that answered OK to
 * ModelInfer, or queued a job, is a bug, as is an INTERNAL or UNKNOWN status anywhere.
 */
import fc from 'fast-check';

/** One call: `request` is serialized by the client, `bytes` sent as they are. */
export interface HostileCall {
  method: string;
  kind: string;
  request?: Record<string, unknown>;
  bytes?: Buffer;
  /** for `bytes` made from a request: serialize this request first, then apply `mangle` */
  mangle?: { request: Record<string, unknown>; how: 'truncate' | 'append'; at: number; junk: Buffer };
  /** a ModelInfer whose raw contents alone are this many bytes (made when sent: failures print small) */
  oversize?: number;
}

/** The oversized ModelInfer request of `c.oversize` bytes. */
export const oversizedRequest = (bytes: number) => ({
  model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32] }], raw_input_contents: [Buffer.alloc(bytes, 1)],
});

/** ModelInfer's shipped targets: model, input name and row width (FP32 [-1, width]). */
const TARGETS = [
  { model: 'mlp', input: 'input', output: 'output', width: 32 },
  { model: 'penguins', input: 'features', output: 'probabilities', width: 4 },
] as const;
const SHIPPED = new Set(['mlp', 'penguins', 'fixed']);

const printable = (max: number) => fc.string({ unit: 'grapheme-ascii', maxLength: max });
const anyText = (max: number) => fc.string({ unit: 'binary', maxLength: max });
const floats = (n: number) => fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }), { minLength: n, maxLength: n });

/** A model name that no repository here serves. */
const unknownModel = fc.oneof(
  fc.constantFrom('', 'nope', 'MLP', '..', '../models/mlp', 'mlp/1', 'mlp\u0000', ' mlp', 'a'.repeat(5000), '€'),
  printable(40).filter((s) => !SHIPPED.has(s.trim())),
);
/** A version string that names no served version ('' and '-1' mean "the default", as Triton's gRPC reads them, and are valid). */
const badVersion = fc.oneof(
  fc.constantFrom('0', '3', '999', '-2', '1.5', 'latest', 'v1', '1e3', '18446744073709551617', ' ', '\u0000'),
  printable(12).filter((s) => s !== '' && s !== '-1' && !/^\s*\d+\s*$/.test(s)),
);

/** InferParameter maps: any key, any oneof value (noise: valid requests may carry these). */
const parameter = fc.oneof(
  fc.boolean().map((v) => ({ bool_param: v })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ int64_param: v.toString() })),
  anyText(200).map((v) => ({ string_param: v })),
  fc.double().map((v) => ({ double_param: v })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ uint64_param: v.toString() })),
);
const parameters = fc.dictionary(fc.oneof(fc.constantFrom('classification', 'binary_data_output', 'priority', 'timeout', 'sequence_id', 'binary_data_size', '__proto__', 'constructor'), printable(20)), parameter, { maxKeys: 4 });

interface Base {
  target: (typeof TARGETS)[number];
  rows: number;
  raw: boolean;
  values: number[];
}

const base: fc.Arbitrary<Base> = fc
  .tuple(fc.constantFrom(...TARGETS), fc.integer({ min: 1, max: 4 }), fc.boolean())
  .chain(([target, rows, raw]) => floats(rows * target.width).map((values) => ({ target, rows, raw, values })));

const f32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

/** The valid request `b` describes. */
function validRequest(b: Base): Record<string, any> {
  const tensor: Record<string, unknown> = { name: b.target.input, datatype: 'FP32', shape: [b.rows, b.target.width], parameters: {} };
  if (!b.raw) tensor['contents'] = { fp32_contents: b.values };
  return {
    model_name: b.target.model, model_version: '', id: '', parameters: {}, inputs: [tensor], outputs: [],
    raw_input_contents: b.raw ? [f32(b.values)] : [],
  };
}

type Defect = (r: Record<string, any>, b: Base) => void;

/** The first input, or a stand-in when a defect before removed them all (no input is a defect already). */
const first = (r: Record<string, any>): Record<string, any> => r['inputs'][0] ?? {};

/**
 * Changes to a tensor's geometry (shape, element count, where its data is), after which no
 * served model accepts the request. Two of them could cancel out (a shape one row longer and
 * contents one row longer), so a request gets at most one.
 */
const geometry: fc.Arbitrary<Defect>[] = [
  // a shape that disagrees with the model or with the contents (negative, zero, huge, wrong rank)
  fc.oneof(
    fc.integer({ min: -64, max: 64 }).filter((d) => d !== 0).map((d) => (b: Base) => [b.rows, b.target.width + d]),
    fc.constantFrom(
      (b: Base) => [b.rows * b.target.width],
      (b: Base) => [b.rows, b.target.width, 1],
      (b: Base) => [-b.rows, b.target.width],
      (b: Base) => [b.rows, -b.target.width],
      (b: Base) => [0, b.target.width],
      (b: Base) => [b.rows + 1, b.target.width],
      (b: Base) => [2 ** 31, b.target.width],
      (b: Base) => ['9007199254740993', b.target.width],
      (b: Base) => ['9223372036854775807', b.target.width],
      (b: Base) => ['-9223372036854775808', b.target.width],
      (b: Base) => [b.rows, '4611686018427387904'],
      () => [],
      (b: Base) => [...Array(64).fill(1), b.rows, b.target.width],
    ),
  ).map((shape) => (r, b) => {
    first(r).shape = shape(b);
  }),
  // contents or raw bytes of the wrong length
  fc.integer({ min: 1, max: 9 }).chain((k) => fc.boolean().map((more) => ({ k, more }))).map(({ k, more }) => (r, b) => {
    if (b.raw) {
      const bytes = (r['raw_input_contents'][0] as Buffer | undefined) ?? Buffer.alloc(0);
      r['raw_input_contents'][0] = more ? Buffer.concat([bytes, Buffer.alloc(k, 0x41)]) : bytes.subarray(0, Math.max(0, bytes.length - k));
    } else {
      const t = first(r);
      const v = (t['contents']?.fp32_contents as number[] | undefined) ?? [];
      t['contents'] = { fp32_contents: more ? [...v, ...Array(k).fill(0.5)] : v.slice(0, Math.max(0, v.length - k)) };
    }
  }),
  // raw_input_contents in the wrong number, or beside typed contents
  fc.constantFrom('extra', 'none-for-raw', 'both').map((how) => (r, b) => {
    if (how === 'extra') r['raw_input_contents'] = [...(r['raw_input_contents'] as Buffer[]), f32(b.values)];
    else if (how === 'both') {
      first(r).contents = { fp32_contents: b.values };
      r['raw_input_contents'] = [f32(b.values)];
    } else {
      // a second input with no raw entry of its own
      r['inputs'].push({ ...first(r), name: 'second' });
      if (!b.raw) r['raw_input_contents'] = [f32(b.values)];
    }
  }),
  // contents in the field of another datatype
  fc.constantFrom('int_contents', 'int64_contents', 'fp64_contents', 'bool_contents', 'bytes_contents', 'uint_contents').map((field) => (r, b) => {
    const values = field === 'bool_contents' ? b.values.map((v) => v > 0) : field === 'bytes_contents' ? b.values.map((v) => Buffer.from(String(v))) : field === 'fp64_contents' ? b.values : b.values.map((v) => Math.abs(Math.trunc(v)));
    first(r).contents = { [field]: values };
    r['raw_input_contents'] = [];
  }),
];

/** Changes that make any request invalid whatever else it carries; any number of them combine. */
const others: fc.Arbitrary<Defect>[] = [
  // a datatype other than the model's FP32 (contents stay in fp32_contents or raw)
  fc.constantFrom('FP64', 'INT32', 'INT64', 'UINT8', 'BOOL', 'BYTES', 'FP16', 'BF16', 'fp32', 'FP32 ', '', 'FP320').map((dt) => (r) => {
    first(r).datatype = dt;
  }),
  unknownModel.map((m) => (r) => {
    r['model_name'] = m;
  }),
  badVersion.map((v) => (r) => {
    r['model_version'] = v;
  }),
  // inputs: renamed, missing, duplicated
  fc.oneof(printable(30).map((n) => ({ rename: n })), fc.constantFrom({ drop: true }, { dup: true })).map((how) => (r, b) => {
    if ('rename' in how) first(r).name = how.rename === b.target.input ? `${how.rename}_` : how.rename;
    else if ('drop' in how) {
      r['inputs'] = [];
      r['raw_input_contents'] = [];
    } else {
      if (r['inputs'].length) r['inputs'].push(first(r));
      if (b.raw && r['raw_input_contents'].length) r['raw_input_contents'].push(r['raw_input_contents'][0]);
    }
  }),
  // an output the model does not have
  printable(30).map((n) => (r, b) => {
    r['outputs'] = [{ name: n === b.target.output || n === 'label' ? `${n}_` : n, parameters: {} }];
  }),
];

/** Noise a valid request may carry too: never the reason for a refusal. */
const noise: fc.Arbitrary<(r: Record<string, any>) => void> = fc
  .record({ params: parameters, inputParams: parameters, id: fc.oneof(fc.constant(''), anyText(300)) })
  .map(({ params, inputParams, id }) => (r) => {
    r['parameters'] = params;
    r['id'] = id;
    for (const t of r['inputs']) t.parameters = inputParams;
  });

/** An invalid ModelInfer request (proto-loader object form): at most one geometry defect, other defects, at least one in all. */
export const hostileInferRequest: fc.Arbitrary<{ kind: string; request: Record<string, unknown> }> = fc
  .tuple(base, fc.option(fc.nat(geometry.length - 1)), fc.array(fc.nat(others.length - 1), { maxLength: 2 }), fc.option(noise))
  .filter(([, g, o]) => g !== null || o.length > 0)
  .chain(([b, g, o, n]) =>
    fc.tuple(...(g === null ? [] : [geometry[g]!]), ...o.map((i) => others[i]!)).map((chosen) => {
      const r = validRequest(b);
      n?.(r);
      for (const d of chosen) d(r, b);
      const names = [...(g === null ? [] : [`g${g}`]), ...o.map((i) => `o${i}`)];
      return { kind: `infer-${b.raw ? 'raw' : 'contents'}-${names.join('+')}`, request: r };
    }),
  );

const OTHER = ['ModelReady', 'ModelMetadata', 'ModelConfig', 'ModelStatistics'] as const;

/** Every hostile call: mostly ModelInfer, some as broken bytes, some to the other RPCs. */
export function hostileCall(maxMessageBytes: number): fc.Arbitrary<HostileCall> {
  return fc.oneof(
    { weight: 12, arbitrary: hostileInferRequest.map((h) => ({ method: 'ModelInfer', ...h })) },
    {
      weight: 3,
      arbitrary: fc.tuple(hostileInferRequest, fc.constantFrom('truncate' as const, 'append' as const), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }))
        .map(([h, how, at, junk]) => ({ method: 'ModelInfer', kind: `bytes-${how}`, mangle: { request: h.request, how, at, junk: Buffer.from(junk) } })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => ({ method: 'ModelInfer', kind: 'bytes-random', bytes: Buffer.from(b) })) },
    {
      // larger than the server takes: refused before it is parsed
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 64 * 1024 }).map((extra) => ({ method: 'ModelInfer', kind: 'oversized', oversize: maxMessageBytes + extra })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...OTHER), unknownModel, fc.oneof(fc.constant(''), badVersion))
        .map(([method, name, version]) => ({ method, kind: `${method}-unknown`, request: { name, version } })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('RepositoryModelLoad', 'RepositoryModelUnload'), unknownModel, printable(20))
        .map(([method, model_name, repository_name]) => ({ method, kind: `${method}-unknown`, request: { model_name, repository_name } })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...OTHER, 'RepositoryModelLoad', 'RepositoryModelUnload'), fc.uint8Array({ maxLength: 500 }))
        .map(([method, b]) => ({ method, kind: `${method}-bytes`, bytes: Buffer.from(b) })),
    },
  );
}
