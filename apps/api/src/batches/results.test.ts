import { describe, expect, it } from 'vitest';
import {
  batchCounts, canceledMarker, failedMarker, partlyMarker, ranWithRows, tensorOf, succeededMarker, type ChunkLine, type Datatype, type JobError, type RawTensor,
} from '@maas/shared';
import type { ReadLine, ReadLines } from './chunk-lines.js';
import { createHash } from 'node:crypto';
import { chunkResultPieces, RESULT_PIECE_BYTES, RESULTS_FORMAT } from './results.js';

type Rest = Parameters<typeof chunkResultPieces> extends [ReadLines, ...infer R] ? R : never;
/** Lines as a list (their string lines compact ones), or as read back. */
const read = (lines: readonly ReadLine[] | ReadLines): ReadLines => ('compactIds' in lines ? lines : { lines, compactIds: true });
const pieces = (lines: readonly ReadLine[] | ReadLines, ...rest: Rest) => [...chunkResultPieces(read(lines), ...rest)];

/** The chunk's result bytes, its pieces joined. */
const chunkResults = (lines: readonly ReadLine[] | ReadLines, ...rest: Rest): Buffer => Buffer.concat(pieces(lines, ...rest));

/** The chunk's result lines as strings, each with its newline (JSON text never holds a raw one). */
const chunkResultLines = (lines: readonly ReadLine[] | ReadLines, ...rest: Rest): string[] =>
  chunkResults(lines, ...rest).toString('utf8').split(/(?<=\n)/).filter((l) => l !== '');

function raw(name: string, datatype: Datatype, shape: number[], values: unknown[]): RawTensor {
  // Model outputs may hold NaN and ±Infinity, which request values may not (encodeValues refuses them).
  if (datatype === 'FP64') return { name, datatype, shape, data: new Uint8Array(Float64Array.from(values as number[]).buffer) };
  return tensorOf(name, datatype, shape, values);
}

const BAD: JobError = { type: 'invalid-input', message: 'line 2: not valid JSON (Unexpected token)' };
const BAD2: JobError = { type: 'invalid-input', message: 'line 6: a request line must be a JSON object' };

// Rows: a (1, compact) | bad | b (2, tensor) | c (1, compact) | bad2 | d (1, tensor)  → 5 rows
const LINES: ChunkLine[] = [
  ['a', 1, 1],
  ['bad', 0, 0, BAD],
  ['b', 2, 0],
  ['c', 1, 1],
  ['bad2', 0, 0, BAD2],
  ['d', 1, 0],
];
const LABELS = [10, 11, 12, 13, 14];
// exactly representable in FP32, so the JSON values compare exactly
const PROBS = [
  [0.5, 0.25, 0.25],
  [0.125, 0.75, 0.125],
  [1, 0, 0],
  [0, 0.5, 0.5],
  [0.375, 0.375, 0.25],
];
const OUTPUTS: RawTensor[] = [raw('label', 'INT64', [5], LABELS), raw('probabilities', 'FP32', [5, 3], PROBS.flat())];

const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

function expectJsonLines(lines: string[]) {
  for (const l of lines) {
    expect(l.endsWith('\n')).toBe(true);
    expect(l.indexOf('\n')).toBe(l.length - 1);
    expect(() => JSON.parse(l)).not.toThrow();
  }
}

describe('chunkResults: succeeded chunk', () => {
  const out = chunkResultLines(LINES, succeededMarker(4), OUTPUTS);

  it('gives one JSON line per input line, in order', () => {
    expect(out).toHaveLength(LINES.length);
    expectJsonLines(out);
    expect(parse(out).map((o) => o['custom_id'])).toEqual(['a', 'bad', 'b', 'c', 'bad2', 'd']);
  });

  it("gives a compact line its one row as {name: values}, also for a 1-D output", () => {
    expect(out[0]).toBe('{"custom_id":"a","outputs":{"label":[10],"probabilities":[0.5,0.25,0.25]}}\n');
  });

  it('skips invalid lines when counting rows', () => {
    // b is after an invalid line: rows 1 and 2, not 2 and 3
    expect(parse(out)[2]).toEqual({
      custom_id: 'b',
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [2], data: [11, 12] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: [...PROBS[1]!, ...PROBS[2]!] },
      ],
    });
    expect(parse(out)[3]).toEqual({ custom_id: 'c', outputs: { label: [13], probabilities: PROBS[3] } });
    expect(parse(out)[5]).toEqual({
      custom_id: 'd',
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [1], data: [14] },
        { name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: PROBS[4] },
      ],
    });
  });

  it('gives invalid lines their own error', () => {
    expect(out[1]).toBe(`${JSON.stringify({ custom_id: 'bad', error: BAD })}\n`);
    expect(parse(out)[4]).toEqual({ custom_id: 'bad2', error: BAD2 });
  });

  it('starts at row 0 when the chunk begins with invalid lines', () => {
    const res = parse(chunkResultLines([['e', 0, 0, BAD], ['x', 1, 1], ['y', 1, 1]], succeededMarker(2), [raw('label', 'INT64', [2], [7, 8])]));
    expect(res).toEqual([
      { custom_id: 'e', error: BAD },
      { custom_id: 'x', outputs: { label: [7] } },
      { custom_id: 'y', outputs: { label: [8] } },
    ]);
  });

  it('carries BYTES and BOOL outputs as JSON strings and booleans', () => {
    const outputs = [
      { name: 'tag', datatype: 'BYTES' as const, shape: [2], data: ['é', '😀'] },
      raw('flag', 'BOOL', [2, 2], [true, false, false, true]),
    ];
    const res = parse(chunkResultLines([['t', 2, 0]], succeededMarker(1), outputs));
    expect(res[0]).toEqual({
      custom_id: 't',
      outputs: [
        { name: 'tag', datatype: 'BYTES', shape: [2], data: ['é', '😀'] },
        { name: 'flag', datatype: 'BOOL', shape: [2, 2], data: [true, false, false, true] },
      ],
    });
  });

  it('writes ids and messages with quotes, newlines and non-ASCII as one JSON line each', () => {
    const weird: JobError = { type: 'invalid-input', message: 'line 1: "oops"\nsecond line\r\n' };
    const res = chunkResultLines([['id "q"\n\u2028é', 1, 1], ['x\ny', 0, 0, weird]], succeededMarker(1), [raw('label', 'INT64', [1], [3])]);
    expectJsonLines(res);
    expect(parse(res)).toEqual([
      { custom_id: 'id "q"\n\u2028é', outputs: { label: [3] } },
      { custom_id: 'x\ny', error: weird },
    ]);
  });

  it('gives only error lines for a chunk of only invalid lines (s:0, no outputs)', () => {
    const res = chunkResultLines([['e1', 0, 0, BAD], ['e2', 0, 0, BAD2]], succeededMarker(0), []);
    expect(parse(res)).toEqual([
      { custom_id: 'e1', error: BAD },
      { custom_id: 'e2', error: BAD2 },
    ]);
  });

  it('gives nothing for no lines', () => {
    expect(chunkResultLines([], succeededMarker(0), [])).toEqual([]);
    expect(chunkResultLines([], null, [])).toEqual([]);
  });
});

describe('chunkResults: a chunk some of whose rows failed their run (p marker)', () => {
  // Lines a, x, y, z, one row each, and an invalid one; rows 1 (x) and 3 (z) failed: the outputs hold rows 0 and 2 only.
  const lines: ChunkLine[] = [['a', 1, 1], ['x', 1, 1], ['bad', 0, 0, BAD], ['y', 1, 0], ['z', 1, 1]];
  const X: JobError = { type: 'inference-failed', message: 'indices element out of data bounds, idx=100' };
  const Z: JobError = { type: 'inference-failed', message: 'idx=250' };
  const marker = partlyMarker(4, new Map([[1, X], [3, Z]]));
  const out = parse(chunkResultLines(lines, marker, [raw('label', 'INT64', [2], [7, 8])]));

  it('gives each failed row\'s line its own error, and the other lines their own rows', () => {
    expect(out).toEqual([
      { custom_id: 'a', outputs: { label: [7] } },
      { custom_id: 'x', error: X },
      { custom_id: 'bad', error: BAD },
      { custom_id: 'y', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [8] }] },
      { custom_id: 'z', error: Z },
    ]);
  });

  it('counts the failed rows\' lines as failed', () => {
    expect(batchCounts({ total: '5', invalid: '1' }, [marker])).toEqual({ total: 5, succeeded: 2, failed: 3 });
  });
});

describe('chunkResults: lines of several rows, some failed (p marker, by their first rows)', () => {
  // Lines m0 (rows 0-1), m1 (2-4, failed), bad (none), m2 (5), m3 (6-7, failed): the outputs hold rows 0-1 and 5.
  const lines: ChunkLine[] = [['m0', 2, 0], ['m1', 3, 0], ['bad', 0, 0, BAD], ['m2', 1, 1], ['m3', 2, 0]];
  const E1: JobError = { type: 'inference-failed', message: 'idx=100' };
  const E3: JobError = { type: 'inference-failed', message: 'idx=-50' };
  const marker = partlyMarker(4, new Map([[2, E1], [6, E3]]));

  it('gives each failed line its own error and the others their own rows', () => {
    expect(parse(chunkResultLines(lines, marker, [raw('out', 'FP32', [3, 1], [10, 20, 80])]))).toEqual([
      { custom_id: 'm0', outputs: [{ name: 'out', datatype: 'FP32', shape: [2, 1], data: [10, 20] }] },
      { custom_id: 'm1', error: E1 },
      { custom_id: 'bad', error: BAD },
      { custom_id: 'm2', outputs: { out: [80] } },
      { custom_id: 'm3', error: E3 },
    ]);
    expect(batchCounts({ total: '5', invalid: '1' }, [marker])).toEqual({ total: 5, succeeded: 2, failed: 3 });
  });

  it('every line failed, each with its own error: no outputs', () => {
    const all = partlyMarker(2, new Map([[0, E1], [2, E3]]));
    expect(parse(chunkResultLines([['m0', 2, 0], ['m1', 1, 1]], all, []))).toEqual([
      { custom_id: 'm0', error: E1 },
      { custom_id: 'm1', error: E3 },
    ]);
  });
});

describe('ranWithRows', () => {
  it('is true of the outcomes whose outputs are stored beside them: s or p with lines', () => {
    expect([succeededMarker(3), partlyMarker(2, new Map([[0, BAD]])), succeededMarker(0), failedMarker(3, BAD), canceledMarker(3)].map(ranWithRows))
      .toEqual([true, true, false, false, false]);
    expect(ranWithRows(succeededMarker(10))).toBe(true);
  });
});

describe('chunkResults: the failed lines alone (?failed=true), with no outputs read', () => {
  it('a succeeded chunk gives its invalid lines only', () => {
    expect(parse(chunkResultLines(LINES, succeededMarker(4), [], RESULT_PIECE_BYTES, true))).toEqual([
      { custom_id: 'bad', error: BAD },
      { custom_id: 'bad2', error: BAD2 },
    ]);
  });
  it('a chunk some of whose rows failed gives those lines and its invalid ones, in order', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['x', 1, 1], ['bad', 0, 0, BAD], ['y', 2, 0], ['z', 1, 1]];
    const X: JobError = { type: 'inference-failed', message: 'x' };
    const Z: JobError = { type: 'inference-failed', message: 'z' };
    expect(parse(chunkResultLines(lines, partlyMarker(5, new Map([[1, X], [4, Z]])), [], RESULT_PIECE_BYTES, true))).toEqual([
      { custom_id: 'x', error: X },
      { custom_id: 'bad', error: BAD },
      { custom_id: 'z', error: Z },
    ]);
  });
  it('a chunk that did not run gives every line, as the whole results do', () => {
    const err: JobError = { type: 'inference-failed', message: 'boom' };
    expect(chunkResultLines(LINES, failedMarker(4, err), [], RESULT_PIECE_BYTES, true)).toEqual(chunkResultLines(LINES, failedMarker(4, err), []));
  });
});

describe('chunkResults: chunks that did not run', () => {
  const expectAllFailed = (out: string[], error: JobError) => {
    expect(out).toHaveLength(LINES.length);
    expectJsonLines(out);
    expect(parse(out)).toEqual([
      { custom_id: 'a', error },
      { custom_id: 'bad', error: BAD },
      { custom_id: 'b', error },
      { custom_id: 'c', error },
      { custom_id: 'bad2', error: BAD2 },
      { custom_id: 'd', error },
    ]);
  };

  it("gives every line with rows the failed chunk's error; invalid lines keep theirs", () => {
    const err: JobError = { type: 'inference-failed', message: 'onnxruntime: "Reshape" failed: a:b' };
    // outputs, if any, are ignored for a failed chunk
    expectAllFailed(chunkResultLines(LINES, failedMarker(4, err), OUTPUTS), err);
    expectAllFailed(chunkResultLines(LINES, failedMarker(4, err), []), err);
  });

  it('falls back to a generic error for a failed marker without one', () => {
    expectAllFailed(chunkResultLines(LINES, 'f:4', []), { type: 'inference-failed', message: 'the chunk failed' });
  });

  it('gives every line with rows a canceled error', () => {
    expectAllFailed(chunkResultLines(LINES, canceledMarker(4), []), { type: 'canceled', message: 'the batch was canceled before this line ran' });
  });

  it('gives every line with rows not-run when the chunk has no marker', () => {
    const notRun: JobError = { type: 'not-run', message: 'the batch ended before this line ran' };
    expectAllFailed(chunkResultLines(LINES, null, []), notRun);
    // outputs without a succeeded marker are not trusted
    expectAllFailed(chunkResultLines(LINES, null, OUTPUTS), notRun);
  });
});

/** JSON.stringify's text, but −0 written `-0.0` (as the service writes it: shared exact-integers.ts), not `0`. */
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (Object.is(x, -0) ? '\0-0' : x)).replaceAll('"\\u0000-0"', '-0.0');

describe('compact result lines', () => {
  it('are byte for byte what JSON.stringify makes of {custom_id, outputs}, but −0 written -0.0', () => {
    const floats = [0.1, -0, NaN, Infinity, -Infinity, 1e-7, 3.4028234663852886e38, 123456.789];
    const lines: ChunkLine[] = floats.map((_, i) => [i % 2 ? `r"${i}\\é` : `r${i}`, 1, 1]);
    const tensors = [
      raw('sc"ore', 'FP64', [floats.length, 1], floats),
      raw('flag', 'BOOL', [floats.length], floats.map((_, i) => i % 3 === 0)),
      raw('label', 'BYTES', [floats.length], floats.map((_, i) => `cls "${i}"\n`)),
    ];
    const got = chunkResultLines(lines, succeededMarker(lines.length), tensors);
    got.forEach((line, i) => {
      const want = json({ custom_id: lines[i]![0], outputs: { 'sc"ore': [floats[i]], flag: [i % 3 === 0], label: [`cls "${i}"\n`] } }) + '\n';
      expect(line).toBe(want);
    });
  });
  it('stay so over many blocks of rows, between tensor and invalid lines, with rows of many values', () => {
    // 5,000 rows of 7 + 2 + 0 + 1 values: the numbers' text is made a block of rows at a time
    // (16,384 values) and cut at commas, which strings may hold, so BYTES rows are written alone.
    const rows = 5000;
    const wide = Array.from({ length: rows * 7 }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? -0 : Math.fround(Math.sin(i) * 10 ** ((i % 9) - 4))));
    const words = Array.from({ length: rows * 2 }, (_, i) => `w,${i},"x"`);
    const flags = Array.from({ length: rows }, (_, i) => i % 2 === 0);
    const tensors = [
      { name: 'wide', datatype: 'FP32' as const, shape: [rows, 7], data: new Uint8Array(Float32Array.from(wide).buffer) },
      { name: 'words', datatype: 'BYTES' as const, shape: [rows, 2], data: words },
      raw('none', 'FP32', [rows, 0], []),
      raw('flag', 'BOOL', [rows], flags),
    ];
    const lines: ChunkLine[] = [];
    for (let row = 0, i = 0; row < rows; i++) {
      const line: ChunkLine = i % 50 === 7 ? [`bad${i}`, 0, 0, BAD] : i % 40 === 3 && row + 3 <= rows ? [`t${i}`, 3, 0] : [`c${i}`, 1, 1];
      lines.push(line);
      row += line[1];
    }
    const f32 = (v: number) => (Number.isFinite(v) ? v : null);
    const got = chunkResultLines(lines, succeededMarker(lines.length), tensors);
    expect(got).toHaveLength(lines.length);
    let row = 0;
    got.forEach((line, i) => {
      const [id, n, compact, error] = lines[i]!;
      const r = row;
      const want = error
        ? { custom_id: id, error }
        : compact
          ? { custom_id: id, outputs: { wide: wide.slice(r * 7, r * 7 + 7).map(f32), words: words.slice(r * 2, r * 2 + 2), none: [], flag: [flags[r]] } }
          : {
            custom_id: id,
            outputs: [
              { name: 'wide', datatype: 'FP32', shape: [n, 7], data: wide.slice(r * 7, (r + n) * 7).map(f32) },
              { name: 'words', datatype: 'BYTES', shape: [n, 2], data: words.slice(r * 2, (r + n) * 2) },
              { name: 'none', datatype: 'FP32', shape: [n, 0], data: [] },
              { name: 'flag', datatype: 'BOOL', shape: [n], data: flags.slice(r, r + n) },
            ],
          };
      row += n;
      expect(line).toBe(json(want) + '\n');
    });
  });
});

describe('tensor result lines', () => {
  it('one line of many blocks of rows is byte for byte what JSON.stringify makes of it', () => {
    const rows = 6000;
    const wide = Array.from({ length: rows * 5 }, (_, i) => Math.fround(Math.cos(i) * 10 ** ((i % 7) - 3)));
    const tensors = [raw('wide', 'FP32', [rows, 5], wide), raw('label', 'INT64', [rows], Array.from({ length: rows }, (_, i) => i))];
    const got = chunkResultLines([['all', rows, 0]], succeededMarker(1), tensors);
    expect(got).toEqual([JSON.stringify({
      custom_id: 'all',
      outputs: [
        { name: 'wide', datatype: 'FP32', shape: [rows, 5], data: wide },
        { name: 'label', datatype: 'INT64', shape: [rows], data: Array.from({ length: rows }, (_, i) => i) },
      ],
    }) + '\n']);
  });
});

describe('chunkResultPieces', () => {
  it('cuts a chunk into pieces of whole lines, each past the piece size by at most one line', () => {
    const rows = 3000;
    const values = Array.from({ length: rows * 4 }, (_, i) => i / 3);
    const lines: ChunkLine[] = Array.from({ length: rows }, (_, i) => [`r${i}`, 1, 1]);
    const outputs = [raw('v', 'FP64', [rows, 4], values)];
    const got = pieces(lines, succeededMarker(rows), outputs, 4096);
    expect(got.length).toBeGreaterThan(10);
    const longest = Math.max(...lines.map((_, i) => `{"custom_id":"r${i}","outputs":{"v":[${values.slice(i * 4, i * 4 + 4).join(',')}]}}\n`.length));
    for (const p of got) {
      expect(p[p.length - 1]).toBe(0x0a);
      expect(p.length).toBeLessThan(4096 + longest);
    }
    expect(Buffer.concat(got).toString('utf8')).toBe(chunkResultLines(lines, succeededMarker(rows), outputs, RESULT_PIECE_BYTES).join(''));
    const parsed = Buffer.concat(got).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(parsed.map((l) => l.custom_id)).toEqual(lines.map((l) => l[0]));
    expect(parsed.flatMap((l) => l.outputs.v)).toEqual(values);
  });

  it('gives no piece for no lines', () => {
    expect(pieces([], succeededMarker(0), [])).toEqual([]);
  });
});

describe('chunkResults bytes', () => {
  it('grow past their first estimate for a long line, and keep the bytes before it', () => {
    const values = Array.from({ length: 5000 }, (_, i) => i / 8);
    const lines: ChunkLine[] = [['short', 1, 1], ['long', 1, 0], ['é', 1, 1]];
    const bytes = chunkResults(lines, succeededMarker(3), [raw('v', 'FP32', [3, 5000], [...values, ...values, ...values])]);
    const got = bytes.toString('utf8').split('\n');
    expect(got).toHaveLength(4);
    expect(JSON.parse(got[0]!)).toEqual({ custom_id: 'short', outputs: { v: values } });
    expect(JSON.parse(got[1]!).outputs[0].data).toEqual(values);
    expect(JSON.parse(got[2]!)).toEqual({ custom_id: 'é', outputs: { v: values } });
    expect(bytes.length).toBeGreaterThan(3 * 64);
  });
});

describe('chunkResults: lines read back as custom ids', () => {
  it("a line given as its custom id's JSON text is the line [id, 1, 1], byte for byte", () => {
    const outputs = [raw('probabilities', 'FP32', [3, 3], PROBS.slice(0, 3).flat())];
    const ids = ['a', 'b "q" \\ \u2028 ✓😀', ''];
    const asLines: ChunkLine[] = ids.map((id) => [id, 1, 1]);
    const texts = ids.map((id) => JSON.stringify(id));
    expect(chunkResults(texts, succeededMarker(3), outputs)).toEqual(chunkResults(asLines, succeededMarker(3), outputs));
    expect(chunkResults(texts, canceledMarker(3), [])).toEqual(chunkResults(asLines, canceledMarker(3), []));
    expect(chunkResults(texts, null, [])).toEqual(chunkResults(asLines, null, []));
  });

  it("a line given as its custom id's JSON text of a tensor-form ids list is the line [id, 1, 0], byte for byte", () => {
    const outputs = [raw('probabilities', 'FP32', [2, 3], PROBS.slice(0, 2).flat())];
    const ids = ['a', 'b "q"'];
    const tensorIds = { lines: ids.map((id) => JSON.stringify(id)), compactIds: false };
    const asLines: ChunkLine[] = ids.map((id) => [id, 1, 0]);
    expect(chunkResults(tensorIds, succeededMarker(2), outputs)).toEqual(chunkResults(asLines, succeededMarker(2), outputs));
    expect(chunkResultLines(tensorIds, succeededMarker(2), outputs)[1]).toBe(
      `${JSON.stringify({ custom_id: 'b "q"', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: PROBS[1] }] })}\n`,
    );
  });

  it("every line is JSON.stringify's text of its object", () => {
    const outputs = [raw('label', 'INT64', [2], [7, 8])];
    const err: JobError = { type: 'inference-failed', message: 'bad "shape"\n' };
    const lines: ChunkLine[] = [['x "1"', 1, 1], ['bad', 0, 0, err], ['t', 1, 0]];
    expect(chunkResultLines(lines, succeededMarker(2), outputs)).toEqual([
      JSON.stringify({ custom_id: 'x "1"', outputs: { label: [7] } }) + '\n',
      JSON.stringify({ custom_id: 'bad', error: err }) + '\n',
      JSON.stringify({ custom_id: 't', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [8] }] }) + '\n',
    ]);
    expect(chunkResultLines(lines, canceledMarker(2), [])[0]).toBe(
      JSON.stringify({ custom_id: 'x "1"', error: { type: 'canceled', message: 'the batch was canceled before this line ran' } }) + '\n',
    );
  });
});

describe('the bytes of the format', () => {
  it('are pinned to RESULTS_FORMAT: a change to them raises it (a resumed download must not join two formats)', () => {
    const made = [
      chunkResults(LINES, succeededMarker(4), OUTPUTS),
      chunkResults(LINES, failedMarker(4, { type: 'inference-failed', message: 'the model failed' }), []),
      chunkResults(LINES, canceledMarker(4), []),
      chunkResults(LINES, partlyMarker(4, new Map([[1, BAD2]])), [raw('label', 'INT64', [3], [1, 2, 3]), raw('probabilities', 'FP32', [3, 3], PROBS.slice(0, 3).flat())]),
      chunkResults(LINES, null, []),
      chunkResults([['n', 1, 1]], succeededMarker(1), [raw('x', 'FP64', [1, 4], [Number.NaN, Infinity, -0.1, 1e-7])]),
    ];
    const digest = createHash('sha256').update(Buffer.concat(made)).digest('hex').slice(0, 16);
    expect({ format: RESULTS_FORMAT, digest }).toEqual({ format: 1, digest: '4dbc78ac378b49de' });
  });
});
