import { describe, expect, it } from 'vitest';
import { tensorOf, toJsonValues, type Signature } from '@maas/shared';
import { MAX_JSON_CONTAINERS } from '../http/json-bounds.js';
import { leadingCustomId, parseLine, type ParsedLine } from './line.js';

const IRIS: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
  ],
  batchable: true,
};

const TWO: Signature = {
  inputs: [
    { name: 'tokens', datatype: 'INT32', shape: [-1, 3] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [{ name: 'score', datatype: 'FP32', shape: [-1] }],
  batchable: true,
};

const FIXED: Signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
  batchable: false,
};

const SYMBOLIC: Signature = {
  inputs: [{ name: 'seq', datatype: 'FP32', shape: [-1, -1] }],
  outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }],
  batchable: true,
};

const GRID: Signature = {
  inputs: [{ name: 'g', datatype: 'FP32', shape: [-1, 2, 2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  batchable: true,
};

const parse = (line: unknown, n = 1, sig: Signature = IRIS): ParsedLine =>
  parseLine(typeof line === 'string' ? line : JSON.stringify(line), n, sig);

function ok(p: ParsedLine) {
  if (!p.ok) throw new Error(`expected a valid line, got ${JSON.stringify(p.error)}`);
  return p;
}

function bad(p: ParsedLine) {
  if (p.ok) throw new Error(`expected an invalid line, got rows ${p.rows}`);
  // Exactly {type, message}: this object is stored and returned to the client as is.
  expect(Object.keys(p.error).sort()).toEqual(['message', 'type']);
  expect(p.error.type).toBe('invalid-input');
  return p;
}

const raw = tensorOf;

const ROW = [5.5, 3.5, 1.25, 0.25];

describe('parseLine: compact form', () => {
  it('takes a flat row as one row shaped by the model', () => {
    const p = ok(parse({ custom_id: 'r1', inputs: { features: ROW } }, 4));
    expect(p).toEqual({ ok: true, customId: 'r1', rows: 1, compact: true, inputs: [raw('features', 'FP32', [1, 4], ROW)], shapeKey: '4' });
  });

  it('takes row values nested as a row of the input is (or as a batch of one such row), flattened', () => {
    const one = ok(parse({ custom_id: 'r1', inputs: { features: [[5.5, 3.5, 1.25, 0.25]] } }));
    expect(one.inputs[0]!.shape).toEqual([1, 4]);
    expect(toJsonValues(one.inputs[0]!)).toEqual(ROW);
    const grid = ok(parse({ custom_id: 'g', inputs: { g: [[1, 2], [3, 4]] } }, 1, GRID));
    expect(grid.inputs[0]!.shape).toEqual([1, 2, 2]);
    expect(toJsonValues(grid.inputs[0]!)).toEqual([1, 2, 3, 4]);
    expect(ok(parse({ custom_id: 'g', inputs: { g: [[[1, 2], [3, 4]]] } }, 1, GRID)).inputs[0]!.shape).toEqual([1, 2, 2]);
  });

  it('refuses row values nested otherwise than a row of the input (a reshaped row), as the tensor form refuses them', () => {
    expect(bad(parse({ custom_id: 'r', inputs: { features: [[5.5, 3.5], [1.25, 0.25]] } })).error.message).toMatch(/inputs\.features is nested as \[2, 2\], and a row of it is \[4\]/);
    expect(bad(parse({ custom_id: 'r', inputs: { features: [[5.5], [3.5], [1.25], [0.25]] } })).error.message).toMatch(/nested as \[4, 1\]/);
    expect(bad(parse({ custom_id: 'g', inputs: { g: [[1, 2, 3, 4]] } }, 1, GRID)).error.message).toMatch(/nested as \[1, 4\], and a row of it is \[2, 2\]/);
  });

  it('refuses ragged nesting (values beside arrays, arrays of other lengths) as the tensor form does, as a raw string or parsed', () => {
    const rows = [
      { features: [5.5, 3.5, 1.25, [0.25]], message: /inputs\.features: values and arrays side by side 1 level down/ },
      { features: [[5.5], 3.5, 1.25, 0.25], message: /inputs\.features: values and arrays side by side 1 level down/ },
      { features: [[5.5, 3.5, 1.25], [0.25]], message: /inputs\.features: arrays of 3 and 1 elements side by side 1 level down/ },
    ];
    for (const { features, message } of rows) {
      expect(bad(parse({ custom_id: 'r', inputs: { features } }, 3)).error.message, JSON.stringify(features)).toMatch(message);
      expect(bad(parse(JSON.stringify({ custom_id: 'r', inputs: { features } }), 3)).error.message, JSON.stringify(features)).toMatch(message);
    }
  });

  it('refuses cousins nested to different depths', () => {
    const sig: Signature = { inputs: [{ name: 'm', datatype: 'FP32', shape: [-1, 2, 2] }], outputs: [], batchable: true };
    expect(bad(parse({ inputs: { m: [[1, 2], [[3], [4]]] } }, 1, sig)).error.message).toMatch(/inputs\.m: values and arrays side by side 2 levels down/);
    expect(ok(parse({ inputs: { m: [[1, 2], [3, 4]] } }, 1, sig)).inputs[0]!.shape).toEqual([1, 2, 2]);
    expect(ok(parse({ inputs: { m: [[[1, 2], [3, 4]]] } }, 1, sig)).inputs[0]!.shape).toEqual([1, 2, 2]);
  });

  it('orders the tensors as the model declares its inputs and sizes each one', () => {
    const p = ok(parse({ custom_id: 'x', inputs: { text: ['héllo'], tokens: [1, 2, 3] } }, 1, TWO));
    expect(p.inputs).toEqual([raw('tokens', 'INT32', [1, 3], [1, 2, 3]), { name: 'text', datatype: 'BYTES', shape: [1], data: ['héllo'] }]);
    expect(p.rows).toBe(1);
    expect(p.compact).toBe(true);
    expect(p.shapeKey).toBe('3|');
  });

  it('sizes a symbolic non-batch dimension from the number of values', () => {
    const three = ok(parse({ inputs: { seq: [1, 2, 3] } }, 1, SYMBOLIC));
    const five = ok(parse({ inputs: { seq: [1, 2, 3, 4, 5] } }, 2, SYMBOLIC));
    expect(three.inputs[0]!.shape).toEqual([1, 3]);
    expect(five.inputs[0]!.shape).toEqual([1, 5]);
    expect(three.shapeKey).not.toBe(five.shapeKey);
    expect(ok(parse({ inputs: { seq: [9, 8, 7] } }, 3, SYMBOLIC)).shapeKey).toBe(three.shapeKey);
  });

  it('sizes the one symbolic dimension among fixed ones', () => {
    const sig: Signature = { inputs: [{ name: 'm', datatype: 'FP32', shape: [-1, -1, 2] }], outputs: [], batchable: true };
    const p = ok(parse({ inputs: { m: [[1, 2], [3, 4], [5, 6]] } }, 1, sig));
    expect(p.inputs[0]!.shape).toEqual([1, 3, 2]);
    expect(p.shapeKey).toBe('3x2');
    expect(ok(parse({ inputs: { m: [1, 2, 3, 4] } }, 1, sig)).shapeKey).toBe('2x2');
    // 7 values cannot fill [1, n, 2]
    expect(bad(parse({ inputs: { m: [1, 2, 3, 4, 5, 6, 7] } }, 5, sig)).error.message).toMatch(/^line 5: inputs\.m: data has 7 elements/);
  });

  it('refuses an input with more than one symbolic non-batch dimension', () => {
    const sig: Signature = { inputs: [{ name: 'img', datatype: 'FP32', shape: [-1, -1, -1] }], outputs: [], batchable: true };
    const p = bad(parse({ custom_id: 'i', inputs: { img: [1, 2, 3, 4] } }, 2, sig));
    expect(p.customId).toBe('i');
    expect(p.error.message).toBe('line 2: inputs.img has more than one variable dimension: use the tensor form');
  });

  it('refuses the compact form (one row) for a model that takes a fixed number of rows', () => {
    for (const x of [[1, 2, 3, 4, 5, 6], [1, 2, 3]]) {
      expect(bad(parse({ inputs: { x } }, 1, FIXED)).error.message).toBe(
        'line 1: a compact line is one row, but this model takes exactly 2 rows at a time: use the tensor form',
      );
    }
  });

  it('refuses row values that are not an array', () => {
    for (const v of [5.5, '1,2,3,4', null, { a: 1 }]) {
      const p = bad(parse({ custom_id: 'r', inputs: { features: v } }, 3));
      expect(p.error.message).toBe("line 3: inputs.features must be an array of the row's values");
    }
  });

  it('refuses an unknown input and names the expected ones', () => {
    const p = bad(parse({ custom_id: 'r9', inputs: { features: ROW, petals: [1] } }, 9));
    expect(p.customId).toBe('r9');
    expect(p.error.message).toBe("line 9: unknown input 'petals'; the model expects: features");
    expect(bad(parse({ inputs: { nope: [1] } }, 1, TWO)).error.message).toContain('the model expects: tokens, text');
  });

  it('refuses a row of the wrong length', () => {
    expect(bad(parse({ inputs: { features: [1, 2, 3] } }, 2)).error.message).toBe(
      'line 2: inputs.features: data has 3 elements but shape [1, 4] needs 4',
    );
    expect(bad(parse({ inputs: { features: [1, 2, 3, 4, 5] } }, 2)).error.message).toMatch(/data has 5 elements/);
    expect(bad(parse({ inputs: { features: [] } }, 2)).error.message).toMatch(/data has 0 elements/);
  });

  it('refuses values of the wrong type for the datatype', () => {
    expect(bad(parse({ inputs: { features: [1, 'two', 3, 4] } }, 6)).error.message).toBe(
      'line 6: inputs.features: data[1] = "two" is not a number (datatype FP32)',
    );
    expect(bad(parse({ inputs: { features: [1, 2, null, 4] } })).error.message).toMatch(/data\[2\] = null is not a number/);
    expect(bad(parse({ inputs: { tokens: [1, 2.5, 3], text: ['a'] } }, 1, TWO)).error.message).toMatch(/data\[1\] = 2\.5 is not an integer/);
    expect(bad(parse({ inputs: { tokens: [1, 2, 3], text: [7] } }, 1, TWO)).error.message).toMatch(/inputs\.text: data\[0\] = 7 is not a string/);
  });

  it('refuses a missing input', () => {
    expect(bad(parse({ inputs: { tokens: [1, 2, 3] } }, 4, TWO)).error.message).toBe("line 4: inputs: missing input 'text' (BYTES [-1])");
    expect(bad(parse({ inputs: {} }, 1)).error.message).toBe("line 1: inputs: missing input 'features' (FP32 [-1, 4])");
  });
});

describe('parseLine: tensor form', () => {
  const DATA = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

  it('takes a multi-row tensor', () => {
    const p = ok(parse({ custom_id: 't', inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: DATA }] }, 2));
    expect(p).toEqual({ ok: true, customId: 't', rows: 3, compact: false, inputs: [raw('features', 'FP32', [3, 4], DATA)], shapeKey: '4' });
  });

  it('takes nested data', () => {
    const nested = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
    const p = ok(parse({ inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: nested }] }));
    expect(toJsonValues(p.inputs[0]!)).toEqual(DATA);
  });

  it('orders several inputs as the model declares them and shares their row count', () => {
    const p = ok(
      parse(
        {
          custom_id: 'two',
          inputs: [
            { name: 'text', datatype: 'BYTES', shape: [2], data: ['a', 'b'] },
            { name: 'tokens', datatype: 'INT32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
          ],
        },
        1,
        TWO,
      ),
    );
    expect(p.rows).toBe(2);
    expect(p.inputs.map((t) => t.name)).toEqual(['tokens', 'text']);
    expect(p.inputs[1]).toEqual({ name: 'text', datatype: 'BYTES', shape: [2], data: ['a', 'b'] });
    expect(p.shapeKey).toBe('3|');
  });

  it('refuses inputs whose row counts differ', () => {
    const p = bad(
      parse(
        {
          inputs: [
            { name: 'tokens', datatype: 'INT32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
            { name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] },
          ],
        },
        8,
        TWO,
      ),
    );
    expect(p.error.message).toBe("line 8: inputs[1].shape: batch dimension 1 differs from the other inputs' 2");
  });

  it('gives the same shapeKey as a compact line of the same width, and a different one for another width', () => {
    const tensor = ok(parse({ inputs: [{ name: 'seq', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] }, 1, SYMBOLIC));
    const compact = ok(parse({ inputs: { seq: [1, 2, 3] } }, 2, SYMBOLIC));
    const wider = ok(parse({ inputs: [{ name: 'seq', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, 3, SYMBOLIC));
    expect(tensor.shapeKey).toBe(compact.shapeKey);
    expect(wider.shapeKey).not.toBe(tensor.shapeKey);
  });

  it('takes the fixed shape of a model that does not batch, and refuses any other', () => {
    const p = ok(parse({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] }, 1, FIXED));
    expect(p.rows).toBe(2);
    expect(p.shapeKey).toBe('3');
    expect(bad(parse({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }, 2, FIXED)).error.message).toBe(
      'line 2: inputs[0].shape: shape [1, 3] does not match [2, 3] at dimension 0',
    );
  });

  it('refuses an unknown input', () => {
    const p = bad(parse({ custom_id: 'u', inputs: [{ name: 'petals', datatype: 'FP32', shape: [1, 4], data: ROW }] }, 3));
    expect(p.customId).toBe('u');
    expect(p.error.message).toMatch(/^line 3: inputs\[0\]\.name: unknown input 'petals'; the model expects: features/);
    // every problem is reported, joined by '; '
    expect(p.error.message).toContain("; inputs: missing input 'features'");
  });

  it('refuses data of the wrong length', () => {
    expect(bad(parse({ inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7] }] }, 2)).error.message).toBe(
      'line 2: inputs[0].data: data has 7 elements but shape [2, 4] needs 8',
    );
  });

  it('refuses a wrong shape, a wrong datatype and wrong values', () => {
    expect(bad(parse({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })).error.message).toMatch(
      /inputs\[0\]\.shape: shape \[1, 3\] does not match \[-1, 4\] at dimension 1/,
    );
    expect(bad(parse({ inputs: [{ name: 'features', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }] })).error.message).toBe(
      "line 1: inputs[0].datatype: 'features' is FP32, not INT64",
    );
    expect(bad(parse({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, true, 4] }] })).error.message).toMatch(
      /data\[2\] = true is not a number \(datatype FP32\)/,
    );
    expect(bad(parse({ inputs: [{ name: 'features', datatype: 'FP32', shape: [0, 4], data: [] }] })).error.message).toMatch(
      /batch dimension \(first\) must be at least 1/,
    );
  });

  it('refuses a shape whose entries are not non-negative integers', () => {
    // -1 is how the model declares a symbolic dimension, never a size a request may give; and
    // rows must be a count (the chunker adds them up).
    for (const shape of [[-1, -4], ['2', '2'], [0.5, 8], [2, null]]) {
      const p = bad(parse({ custom_id: 's', inputs: [{ name: 'seq', datatype: 'FP32', shape, data: [1, 2, 3, 4] }] }, 7, SYMBOLIC));
      expect(p.customId).toBe('s');
      expect(p.error.message).toBe('line 7: inputs[0].shape must be a list of non-negative integers');
    }
  });

  it('refuses a missing input', () => {
    const p = bad(parse({ inputs: [{ name: 'tokens', datatype: 'INT32', shape: [1, 3], data: [1, 2, 3] }] }, 5, TWO));
    expect(p.error.message).toBe("line 5: inputs: missing input 'text' (BYTES [-1])");
    expect(bad(parse({ inputs: [] }, 5)).error.message).toBe("line 5: inputs: missing input 'features' (FP32 [-1, 4])");
  });

  it('refuses list entries that are not tensors, naming the first one', () => {
    const good = { name: 'features', datatype: 'FP32', shape: [1, 4], data: ROW };
    const cases: unknown[] = [
      5,
      null,
      [1, 2],
      'features',
      { name: 'features', datatype: 'FP32', shape: [1, 4] },
      { name: 'features', datatype: 'FP32', data: ROW },
      { datatype: 'FP32', shape: [1, 4], data: ROW },
      { name: 'features', shape: [1, 4], data: ROW },
      { name: 7, datatype: 'FP32', shape: [1, 4], data: ROW },
      { name: 'features', datatype: 'FP32', shape: '1,4', data: ROW },
      { name: 'features', datatype: 'FP32', shape: [1, 4], data: 'abcd' },
    ];
    for (const t of cases) {
      expect(bad(parse({ custom_id: 'c', inputs: [good, t] }, 3)).error.message, JSON.stringify(t)).toBe(
        'line 3: inputs[1] must be a tensor {name, shape, datatype, data}',
      );
    }
  });
});

describe('parseLine: custom_id', () => {
  const inputs = { features: ROW };

  it('keeps a string', () => {
    expect(ok(parse({ custom_id: 'req-1', inputs }, 12)).customId).toBe('req-1');
    expect(ok(parse({ custom_id: 'é "q"', inputs }, 12)).customId).toBe('é "q"');
  });

  it('turns a number into its string', () => {
    expect(ok(parse({ custom_id: 42, inputs }, 12)).customId).toBe('42');
    expect(ok(parse({ custom_id: 0, inputs }, 12)).customId).toBe('0');
    expect(ok(parse({ custom_id: 1.5, inputs }, 12)).customId).toBe('1.5');
  });

  it('defaults to the line number, also when null (JSON\'s "absent")', () => {
    expect(ok(parse({ inputs }, 12)).customId).toBe('12');
    expect(ok(parse({ custom_id: null, inputs }, 12)).customId).toBe('12');
    expect(ok(parse({ custom_id: null, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: ROW }] }, 5)).customId).toBe('5');
  });

  it('is kept on an invalid line, so the error can be matched to its request', () => {
    expect(bad(parse({ custom_id: 'keep', inputs: { features: [1] } }, 3)).customId).toBe('keep');
    expect(bad(parse({ custom_id: 77, inputs: 'x' }, 3)).customId).toBe('77');
    expect(bad(parse({ inputs: 'x' }, 3)).customId).toBe('3');
  });

  it('refuses other types, reporting the line number as the id', () => {
    for (const id of [true, ['a'], { id: 'a' }]) {
      const p = bad(parse({ custom_id: id, inputs }, 21));
      expect(p.customId).toBe('21');
      expect(p.error.message).toBe('line 21: custom_id must be a string or a finite number');
    }
    // past the double range JSON.parse reads Infinity, whose text would come back instead of the id sent
    const huge = parse(`{"custom_id":1e400,"inputs":${JSON.stringify(inputs)}}`, 22);
    expect(huge).toMatchObject({ ok: false, customId: '22', error: { message: 'line 22: custom_id must be a string or a finite number' } });
  });
});

describe('parseLine: bytes that are not UTF-8', () => {
  it('fail their line (its id would come back with U+FFFD in place), on the fast path\'s form and the general one', () => {
    const lines = [
      Buffer.concat([Buffer.from('{"custom_id":"a'), Buffer.from([0xff]), Buffer.from('","inputs":{"features":[5.5,3.5,1.25,0.25]}}')]),
      Buffer.concat([Buffer.from('{"custom_id":"b","inputs":[{"name":"features","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}],"x":"'), Buffer.from([0xc3]), Buffer.from('"}')]),
    ];
    for (const line of lines) {
      const p = bad(parseLine(line, 7, IRIS));
      expect(p.customId).toBe('7');
      expect(p.error.message).toBe('line 7: the line is not UTF-8 text');
    }
    expect(ok(parseLine(Buffer.from('{"custom_id":"ünï","inputs":{"features":[5.5,3.5,1.25,0.25]}}'), 8, IRIS)).customId).toBe('ünï');
  });
});

describe('parseLine: outputs', () => {
  it('fails a line that asks for outputs (they would be ignored: a result holds every output), in either form', () => {
    const tensors = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: ROW }];
    for (const line of [{ custom_id: 'o', inputs: tensors, outputs: [{ name: 'probs', parameters: { classification: 1 } }] }, { custom_id: 'o', inputs: { features: ROW }, outputs: [] }]) {
      const p = bad(parse(line, 4));
      expect(p.customId).toBe('o');
      expect(p.error.message).toBe('line 4: a line takes no `outputs`: its result holds every output of the model as it is');
    }
  });
});

describe('parseLine: keys other than custom_id and inputs', () => {
  it('fails the line, as an unknown key fails a /v1/jobs body: a model, an OpenAI Batch line, anything else; in either form', () => {
    const tensors = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: ROW }];
    for (const inputs of [tensors, { features: ROW }]) {
      expect(bad(parse({ custom_id: 'm', inputs, model: 'mlp' }, 2)).error.message).toBe("line 2: a line takes no `model`: the upload's ?model= (and ?version=) runs every line");
      expect(bad(parse({ custom_id: 'v', version: '2', inputs }, 2)).error.message).toMatch(/takes no `version`/);
      const meta = bad(parse({ custom_id: 'k', inputs, metadata: {} }, 3));
      expect(meta.customId).toBe('k');
      expect(meta.error.message).toBe('line 3: unknown key "metadata": a line is {"custom_id", "inputs"}');
    }
    const openai = bad(parse({ custom_id: 'req-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'mlp', messages: [] } }, 1));
    expect(openai.customId).toBe('req-1');
    expect(openai.error.message).toMatch(/^line 1: OpenAI Batch request lines \(\{custom_id, method, url, body\}\) are not read here/);
    expect(ok(parse({ custom_id: 'fine', inputs: { features: ROW } }, 1)).customId).toBe('fine');
  });
});

describe('parseLine: the line itself', () => {
  it('refuses invalid JSON with the parser message, id = line number', () => {
    for (const text of ['not json', '{"inputs": {"features": [1,2,3,4]}', "{'custom_id': 'a'}", '{"a":1} {"b":2}']) {
      const p = bad(parse(text, 17));
      expect(p.customId).toBe('17');
      expect(p.error.message).toMatch(/^line 17: not valid JSON \(.+\)$/);
    }
  });

  it('refuses a line that is not a JSON object', () => {
    for (const text of ['[1,2,3]', '42', '"text"', 'null', 'true', '[]']) {
      expect(bad(parse(text, 2))).toEqual({
        ok: false,
        customId: '2',
        error: { type: 'invalid-input', message: 'line 2: a request line must be a JSON object' },
      });
    }
  });

  it('refuses inputs that are neither a list nor an object', () => {
    for (const line of [{ custom_id: 'a' }, { custom_id: 'a', inputs: null }, { custom_id: 'a', inputs: 5 }, { custom_id: 'a', inputs: 'features' }, { custom_id: 'a', inputs: true }]) {
      expect(bad(parse(line, 4)).error.message).toBe('line 4: inputs must be a list of tensors or an object {input name: row values}');
    }
  });

  it('accepts surrounding whitespace', () => {
    const p = ok(parse(`  ${JSON.stringify({ custom_id: 'w', inputs: { features: ROW } })}\t`, 1));
    expect(p.customId).toBe('w');
  });
});

describe('parseLine: hostile nesting', () => {
  it('a compact row nested 10,000 deep fails its line, without overflowing the stack', () => {
    const deep = '['.repeat(10_000) + '1' + ']'.repeat(10_000);
    for (const sig of [IRIS, SYMBOLIC]) {
      const name = sig.inputs[0]!.name;
      const parsed = parse(`{"custom_id":"x","inputs":{"${name}":${deep}}}`, 1, sig);
      expect(parsed.ok).toBe(false);
      // Refused before it is parsed (json-bounds.ts), its custom_id read from the front.
      expect(parsed).toMatchObject({ customId: 'x', error: { message: 'line 1: the JSON nests deeper than 64 levels' } });
    }
  });

  it('a line of more than MAX_JSON_CONTAINERS arrays and objects fails alone, before JSON.parse is handed them', () => {
    const flood = new Array(MAX_JSON_CONTAINERS).fill('{}').join(',');
    for (const sig of [IRIS, SYMBOLIC]) {
      const name = sig.inputs[0]!.name;
      const parsed = parse(`{"custom_id":"x","inputs":{"${name}":${JSON.stringify(ROW)}},"extra":[${flood}]}`, 1, sig);
      expect(parsed).toMatchObject({ ok: false, customId: 'x', error: { message: `line 1: the JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects (send large tensors' data flat, row-major, or in the binary extension)` } });
    }
  });

  it('leadingCustomId: the id of a line refused before it is parsed, when it comes first', () => {
    expect(leadingCustomId('{"custom_id":"r\\"1","inputs":[[[')).toBe('r"1');
    expect(leadingCustomId(' { "custom_id" : 42 , "inputs": 1}')).toBe('42');
    expect(leadingCustomId('{"inputs":[],"custom_id":"late"}')).toBeUndefined();
    expect(leadingCustomId('{"custom_id":["a"]}')).toBeUndefined();
  });
});

describe('parseLine: values out of range', () => {
  it('an FP32 value beyond ±3.4e38 fails its line (it would become Infinity), on both paths', () => {
    for (const line of [
      '{"custom_id":"a","inputs":{"features":[1e39,1,2,3]}}',
      '{"custom_id":7, "inputs": {"features": [1, -1e39, 2, 3]}}', // a numeric id: the general path
      '{"custom_id":"a","inputs":[{"name":"features","datatype":"FP32","shape":[1,4],"data":[1,2,3,4e38]}]}',
    ]) {
      const p = parse(line);
      expect(p.ok, line).toBe(false);
      if (!p.ok) expect(p.error.message).toMatch(/out of the FP32 range/);
    }
    expect(ok(parse('{"inputs":{"features":[3.4e38,-3.4e38,1e-50,0]}}')).rows).toBe(1);
  });
});

describe('parseLine: nesting', () => {
  const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

  const deepIn = (n: number) => `{"inputs":[{"name":"features","datatype":"FP32","shape":[1,4],"data":[5.5,3.5,1.25,0.25],"parameters":{"p":${nested(n)}}}]}`;

  it('fails a line nesting deeper than 64 levels, also in a field no check reads (a tensor\'s parameters)', () => {
    expect(bad(parse(deepIn(61))).error.message).toMatch(/nests deeper than 64 levels/);
    expect(bad(parse(deepIn(100))).error.message).toMatch(/nests deeper than 64 levels/);
  });

  it('takes a line 64 levels deep', () => {
    expect(ok(parse(deepIn(60))).rows).toBe(1);
  });
});
