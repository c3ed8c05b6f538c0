import { describe, expect, it } from 'vitest';
import { BlockPool, encodeValues, toJsonValues, type ChunkLine, type JobError, type RawTensor, type Signature } from '@maas/shared';
import { readLines, storedLines } from './chunk-lines.js';
import { Chunker, CHUNK_LINES_MIN_CAP, type Chunk } from './chunker.js';
import { parseLine, parseLineText, rowPlan, type ParsedLine } from './line.js';

let counter = 0;

/** A valid FP32 line of `rows` rows of `width` values (all distinct across the test file). */
function good(customId: string, rows: number, opts: { width?: number; compact?: boolean } = {}): Extract<ParsedLine, { ok: true }> {
  const width = opts.width ?? 2;
  const values = Array.from({ length: rows * width }, () => ++counter);
  const enc = encodeValues('x', 'FP32', [rows, width], values);
  if (!enc.ok) throw new Error(enc.message);
  return { ok: true, customId, rows, compact: opts.compact ?? false, inputs: [enc.tensor], shapeKey: String(width) };
}

const error = (customId: string): JobError => ({ type: 'invalid-input', message: `line ?: ${customId} is bad` });
const invalid = (customId: string): ParsedLine => ({ ok: false, customId, error: error(customId) });

/** Feeds lines in order; returns every chunk, the one from finish() last. */
function run(chunkRows: number, lines: readonly ParsedLine[]): Chunk[] {
  const c = new Chunker(chunkRows);
  const out = lines.flatMap((l) => c.add(l));
  const last = c.finish();
  return last ? [...out, last] : out;
}

/**
 * Feeds NDJSON lines as sources.ts does: `addRow` first, else parse and `add`; each line inside
 * a larger buffer, with other bytes around it, as in an upload's piece. With `pool`, each
 * chunk's blocks are given back as soon as it closes (as the service does once they are
 * stored), after `seen` has looked at it and they have been scribbled over. Returns the chunks
 * and how many lines took the general path.
 */
function feedLines(
  sig: Signature, chunkRows: number, texts: readonly string[], pool?: BlockPool, seen?: (c: Chunk) => void,
): { chunks: Chunk[]; parsed: number } {
  const plan = rowPlan(sig)!;
  const c = new Chunker(chunkRows, pool);
  const chunks: Chunk[] = [];
  let parsed = 0;
  const closed = (done: readonly Chunk[]) => {
    for (const chunk of done) {
      chunks.push(chunk);
      if (!pool) continue;
      seen?.(chunk);
      for (const t of chunk.inputs) if (!Array.isArray(t.data)) { new Uint8Array(t.data.buffer).fill(0xa5); pool.give(t.data); }
    }
  };
  texts.forEach((text, i) => {
    const buf = Buffer.from(`1.5,${text}9e9`);
    closed(c.addRow(buf, 4, buf.length - 3, i + 1, plan) ?? (parsed++, c.add(parseLine(buf, i + 1, sig, 4, buf.length - 3))));
  });
  const last = c.finish();
  if (last) closed([last]);
  return { chunks, parsed };
}

/** A chunk's lines as a list, whatever form the chunker kept them in (a chunk of compact single rows keeps only their ids' JSON). */
function linesOf(chunk: Chunk): ChunkLine[] {
  if (Array.isArray(chunk.lines)) return chunk.lines;
  const { lines, compactIds } = readLines(storedLines(chunk.lines).toString());
  return lines.map((l): ChunkLine => (typeof l === 'string' ? [JSON.parse(l) as string, 1, compactIds ? 1 : 0] : l));
}
const ids = (chunk: Chunk) => linesOf(chunk).map((l) => l[0]);
const bytes = (t: RawTensor) => Buffer.from(t.data as Uint8Array);

/** What a chunk holds, for comparing chunks made two ways. */
const view = (c: Chunk) => ({
  index: c.index, rows: c.rows, linesWithRows: c.linesWithRows, stored: storedLines(c.lines).toString(),
  inputs: c.inputs.map((t) => [t.name, t.datatype, t.shape, bytes(t).toString('hex')]),
});

describe('Chunker', () => {
  it('closes a chunk exactly when it reaches chunkRows', () => {
    const c = new Chunker(3);
    expect(c.add(good('a', 1))).toEqual([]);
    expect(c.add(good('b', 1))).toEqual([]);
    const closed = c.add(good('c', 1));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ index: 0, rows: 3, linesWithRows: 3 });
    expect(ids(closed[0]!)).toEqual(['a', 'b', 'c']);
    expect(closed[0]!.inputs[0]!.shape).toEqual([3, 2]);
    expect(c.finish()).toBeUndefined();
  });

  it('returns the rest from finish(), once', () => {
    const c = new Chunker(3);
    c.add(good('a', 1));
    c.add(good('b', 1));
    const last = c.finish();
    expect(last).toMatchObject({ index: 0, rows: 2, linesWithRows: 2 });
    expect(c.finish()).toBeUndefined();
  });

  it('returns nothing from finish() when no line was added', () => {
    expect(new Chunker(4).finish()).toBeUndefined();
  });

  it('fills a chunk exactly with a multi-row line', () => {
    const chunks = run(4, [good('a', 3), good('b', 1), good('c', 1)]);
    expect(chunks.map((c) => [ids(c), c.rows])).toEqual([
      [['a', 'b'], 4],
      [['c'], 1],
    ]);
  });

  it('starts a new chunk for a multi-row line that does not fit', () => {
    const c = new Chunker(4);
    expect(c.add(good('a', 3))).toEqual([]);
    const closed = c.add(good('b', 2));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ index: 0, rows: 3 });
    expect(ids(closed[0]!)).toEqual(['a']);
    const last = c.finish()!;
    expect(last).toMatchObject({ index: 1, rows: 2 });
    expect(ids(last)).toEqual(['b']);
    expect(last.inputs[0]!.shape).toEqual([2, 2]);
  });

  it('gives a line with more rows than chunkRows a chunk of its own, closing the current one first', () => {
    const c = new Chunker(4);
    c.add(good('a', 1));
    const closed = c.add(good('big', 10));
    expect(closed.map((k) => [k.index, ids(k), k.rows])).toEqual([
      [0, ['a'], 1],
      [1, ['big'], 10],
    ]);
    expect(closed[1]!.inputs[0]!.shape).toEqual([10, 2]);
    expect(closed[1]!.linesWithRows).toBe(1);
    // the next line starts afresh
    c.add(good('b', 1));
    expect(c.finish()).toMatchObject({ index: 2, rows: 1 });
  });

  it('closes an oversized line alone when nothing is pending', () => {
    const c = new Chunker(2);
    const closed = c.add(good('big', 5));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ index: 0, rows: 5, linesWithRows: 1 });
    expect(c.finish()).toBeUndefined();
  });

  it('lets pending invalid lines ride with an oversized line, in order', () => {
    const c = new Chunker(2);
    c.add(invalid('bad'));
    const closed = c.add(good('big', 5));
    expect(closed).toHaveLength(1);
    expect(linesOf(closed[0]!)).toEqual([['bad', 0, 0, error('bad')], ['big', 5, 0]]);
    expect(closed[0]!.linesWithRows).toBe(1);
  });

  it('keeps invalid lines in the current chunk, in input order, without rows', () => {
    const [chunk, ...rest] = run(10, [invalid('e1'), good('a', 2), invalid('e2'), good('b', 1, { compact: true }), invalid('e3')]);
    expect(rest).toEqual([]);
    expect(linesOf(chunk!)).toEqual([
      ['e1', 0, 0, error('e1')],
      ['a', 2, 0],
      ['e2', 0, 0, error('e2')],
      ['b', 1, 1],
      ['e3', 0, 0, error('e3')],
    ]);
    expect(chunk!.rows).toBe(3);
    expect(chunk!.linesWithRows).toBe(2);
    expect(chunk!.inputs[0]!.shape).toEqual([3, 2]);
  });

  it('closes a chunk of invalid lines at the lines cap, however few rows it holds, and goes on in the next', () => {
    const c = new Chunker(2);
    expect(c.add(good('a', 1))).toEqual([]);
    const closed: Chunk[] = [];
    for (let i = 1; i < 2 * CHUNK_LINES_MIN_CAP + 5; i++) closed.push(...c.add(invalid(`e${i}`)));
    expect(closed.map((k) => [k.index, linesOf(k).length, k.rows])).toEqual([[0, CHUNK_LINES_MIN_CAP, 1], [1, CHUNK_LINES_MIN_CAP, 0]]);
    expect(ids(closed[1]!)[0]).toBe(`e${CHUNK_LINES_MIN_CAP}`);
    const last = c.finish()!;
    expect([last.index, linesOf(last).length, last.rows]).toEqual([2, 5, 0]);
    // a chunk of more rows than the cap holds as many lines as rows
    const wide = new Chunker(CHUNK_LINES_MIN_CAP * 2);
    for (let i = 0; i < CHUNK_LINES_MIN_CAP; i++) expect(wide.add(good(`r${i}`, 1))).toEqual([]);
    for (let i = 0; i < CHUNK_LINES_MIN_CAP - 1; i++) expect(wide.add(invalid(`x${i}`))).toEqual([]);
    expect(wide.add(invalid('last'))).toHaveLength(1);
  });

  it('does not close a chunk on an invalid line below the cap, and puts one after a full chunk in the next', () => {
    const c = new Chunker(2);
    expect(c.add(invalid('e0'))).toEqual([]);
    const full = c.add(good('a', 2));
    expect(full).toHaveLength(1);
    expect(ids(full[0]!)).toEqual(['e0', 'a']);
    const snapshot = structuredClone(linesOf(full[0]!));
    expect(c.add(invalid('e1'))).toEqual([]);
    expect(c.add(invalid('e2'))).toEqual([]);
    // the closed chunk is not touched by later lines
    expect(linesOf(full[0]!)).toEqual(snapshot);
    const last = c.finish()!;
    expect(last).toEqual({ index: 1, lines: [['e1', 0, 0, error('e1')], ['e2', 0, 0, error('e2')]], rows: 0, linesWithRows: 0, inputs: [] });
  });

  it('makes a chunk of only invalid lines when nothing valid was given', () => {
    expect(run(3, [invalid('x'), invalid('y')])).toEqual([
      { index: 0, lines: [['x', 0, 0, error('x')], ['y', 0, 0, error('y')]], rows: 0, linesWithRows: 0, inputs: [] },
    ]);
  });

  it('never puts lines of different shapeKeys in one chunk', () => {
    const c = new Chunker(10);
    expect(c.add(good('w2a', 1, { width: 2 }))).toEqual([]);
    expect(c.add(invalid('bad'))).toEqual([]);
    const first = c.add(good('w3', 2, { width: 3 }));
    expect(first).toHaveLength(1);
    expect(ids(first[0]!)).toEqual(['w2a', 'bad']);
    expect(first[0]!.inputs[0]!.shape).toEqual([1, 2]);
    const second = c.add(good('w2b', 1, { width: 2 }));
    expect(second).toHaveLength(1);
    expect(ids(second[0]!)).toEqual(['w3']);
    expect(second[0]!.inputs[0]!.shape).toEqual([2, 3]);
    const last = c.finish()!;
    expect(ids(last)).toEqual(['w2b']);
    expect([first[0]!.index, second[0]!.index, last.index]).toEqual([0, 1, 2]);
  });

  it('accepts any shapeKey after a chunk of only invalid lines', () => {
    const chunks = run(10, [invalid('e'), good('a', 1, { width: 3 }), good('b', 1, { width: 3 })]);
    expect(chunks).toHaveLength(1);
    expect(ids(chunks[0]!)).toEqual(['e', 'a', 'b']);
  });

  it('closes an incompatible chunk and then an oversized line: two chunks from one add', () => {
    const c = new Chunker(3);
    c.add(good('w2', 1, { width: 2 }));
    const closed = c.add(good('w5', 4, { width: 5 }));
    expect(closed.map((k) => [ids(k), k.inputs[0]!.shape])).toEqual([
      [['w2'], [1, 2]],
      [['w5'], [4, 5]],
    ]);
  });

  it("joins the lines' FP32 bytes in order", () => {
    const lines = [good('a', 2), good('b', 1), good('c', 3)];
    const [chunk] = run(6, lines);
    expect(chunk!.inputs).toHaveLength(1);
    const t = chunk!.inputs[0]!;
    expect(t).toMatchObject({ name: 'x', datatype: 'FP32', shape: [6, 2] });
    expect(bytes(t)).toEqual(Buffer.concat(lines.map((l) => bytes(l.inputs[0]!))));
    expect(toJsonValues(t)).toEqual(lines.flatMap((l) => toJsonValues(l.inputs[0]!)));
  });

  it('joins every input of a two-input model (numeric and BYTES) in order, from parsed lines', () => {
    const sig: Signature = {
      inputs: [
        { name: 'tokens', datatype: 'INT32', shape: [-1, 3] },
        { name: 'text', datatype: 'BYTES', shape: [-1] },
      ],
      outputs: [],
      batchable: true,
    };
    const texts = [
      '{"custom_id":"a","inputs":{"text":["é"],"tokens":[1,2,3]}}',
      '{"custom_id":"b","inputs":[{"name":"tokens","datatype":"INT32","shape":[2,3],"data":[4,5,6,7,8,9]},{"name":"text","datatype":"BYTES","shape":[2],"data":["x","😀"]}]}',
      'garbage',
      '{"custom_id":"c","inputs":{"tokens":[-1,-2,-3],"text":[""]}}',
    ];
    const parsed = texts.map((t, i) => parseLine(t, i + 1, sig));
    const chunks = run(8, parsed);
    expect(chunks).toHaveLength(1);
    const chunk = chunks[0]!;
    expect(linesOf(chunk).map((l) => [l[0], l[1], l[2]])).toEqual([
      ['a', 1, 1],
      ['b', 2, 0],
      ['3', 0, 0],
      ['c', 1, 1],
    ]);
    expect(linesOf(chunk)[2]![3]).toMatchObject({ type: 'invalid-input' });
    expect(chunk.rows).toBe(4);
    expect(chunk.linesWithRows).toBe(3);
    expect(chunk.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['tokens', 'INT32', [4, 3]],
      ['text', 'BYTES', [4]],
    ]);
    expect(toJsonValues(chunk.inputs[0]!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3]);
    expect(chunk.inputs[1]!.data).toEqual(['é', 'x', '😀', '']);
  });

  it('numbers chunks from 0 upwards across add() and finish()', () => {
    const lines = Array.from({ length: 11 }, (_, i) => good(`l${i}`, 1));
    const chunks = run(3, lines);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(chunks.map((c) => c.rows)).toEqual([3, 3, 3, 2]);
  });

  it('keeps its invariants over a long random mix of lines', () => {
    // small deterministic PRNG (mulberry32)
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const chunkRows of [1, 2, 5, 8]) {
      const lines: ParsedLine[] = [];
      for (let i = 0; i < 300; i++) {
        const r = rand();
        if (r < 0.2) lines.push(invalid(`e${i}`));
        else lines.push(good(`g${i}`, 1 + Math.floor(rand() * (chunkRows + 3)), { width: rand() < 0.85 ? 2 : 3, compact: rand() < 0.5 }));
      }
      const chunks = run(chunkRows, lines);
      // every line exactly once, in input order
      expect(chunks.flatMap(ids)).toEqual(lines.map((l) => l.customId));
      expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
      const byId = new Map(lines.map((l) => [l.customId, l]));
      const valid = (c: Chunk) => linesOf(c).filter((l) => l[1] > 0).map((l) => byId.get(l[0]) as Extract<ParsedLine, { ok: true }>);
      chunks.forEach((c, i) => {
        const v = valid(c);
        expect(c.rows).toBe(v.reduce((a, l) => a + l.rows, 0));
        expect(c.linesWithRows).toBe(v.length);
        // one shape per chunk
        expect(new Set(v.map((l) => l.shapeKey)).size).toBeLessThanOrEqual(1);
        // at most chunkRows rows, unless it is one oversized line
        if (c.rows > chunkRows) expect(v).toHaveLength(1);
        // greedy: a chunk closed before the end could not take the next valid line
        const next = chunks.slice(i + 1).flatMap(valid)[0];
        if (next && c.rows > 0) {
          const couldFit = c.rows + next.rows <= chunkRows && next.shapeKey === v[0]!.shapeKey;
          expect(couldFit).toBe(false);
        }
        // rows' bytes joined in order
        if (v.length === 0) expect(c.inputs).toEqual([]);
        else {
          expect(c.inputs[0]!.shape).toEqual([c.rows, Number(v[0]!.shapeKey)]);
          expect(bytes(c.inputs[0]!)).toEqual(Buffer.concat(v.map((l) => bytes(l.inputs[0]!))));
        }
        // the line records carry the form and, for invalid lines, the error
        for (const l of linesOf(c)) {
          const src = byId.get(l[0])!;
          const want: ChunkLine = src.ok ? [src.customId, src.rows, src.compact ? 1 : 0] : [src.customId, 0, 0, src.error];
          expect(l).toEqual(want);
        }
      });
    }
  });

  describe('addRow: lines of one row read straight into the chunk', () => {
    const sig: Signature = {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 3] },
        { name: 'b', datatype: 'FP64', shape: [-1, 2] },
      ],
      outputs: [],
      batchable: true,
    };
    const plan = rowPlan(sig)!;

    /** feedLines for this signature; `parsedLines` is how many took the general path. */
    let parsedLines = 0;
    function feed(chunkRows: number, texts: readonly string[], pool?: BlockPool, seen?: (c: Chunk) => void): Chunk[] {
      const { chunks, parsed } = feedLines(sig, chunkRows, texts, pool, seen);
      parsedLines = parsed;
      return chunks;
    }

    it('makes the chunks that parsing (JSON.parse and the request checks) and adding every line makes, byte for byte', () => {
      let seed = 7;
      const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      // 0 to 5 decimals, or a float32 as programs print it (17 digits mostly)
      const num = () => (rand() < 0.3 ? JSON.stringify(Math.fround(rand() * 200 - 100)) : (rand() * 200 - 100).toFixed(Math.floor(rand() * 6)));
      const texts: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const a = [num(), num(), num()].join(',');
        const b = [num(), num()].join(', ');
        const r = rand();
        if (r < 0.6) texts.push(`{"custom_id":"r${i}","inputs":{"a":[${a}],"b":[${b}]}}`);
        else if (r < 0.65) texts.push(`{ "inputs": { "b": [${b}], "a": [${a}] } }`); // no id: its line number
        else if (r < 0.7) texts.push(`{"custom_id":"zü😀 ${i}","inputs":{"a":[${a}],"b":[${b}]}}`);
        else if (r < 0.75) texts.push(`{"custom_id":"q\\"${i}","inputs":{"a":[${a}],"b":[${b}]}}`); // an escape: parsed
        else if (r < 0.8) texts.push(`{"custom_id":${i},"inputs":{"a":[${a}],"b":[${b}]}}`); // a numeric id: parsed
        else if (r < 0.85) {
          // several rows in the tensor form (up to 7: across chunk boundaries, and past a chunk of 1 or 3)
          const k = 2 + Math.floor(rand() * 6);
          texts.push(`{"custom_id":"t${i}","inputs":[{"name":"a","datatype":"FP32","shape":[${k},3],"data":[${Array(k).fill(a).join(',')}]},{"name":"b","datatype":"FP64","shape":[${k},2],"data":[${Array(k).fill(b).join(',')}]}]}`);
        }
        else if (r < 0.88) texts.push(`{"custom_id":"o${i}","inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[${a}]},{"shape": [ 1 , 2 ], "name":"b","data":[${b}],"datatype":"FP64"}]}`); // one row, tensor form: read
        else if (r < 0.885) texts.push(`{"inputs":[{"name":"b","datatype":"FP64","shape":[1,2],"data":[${b}]},{"data":[${a}],"name":"a","datatype":"FP32","shape":[1,3]}],"custom_id":"d${i}"}`); // data before name: parsed
        else if (r < 0.89) texts.push(`{"custom_id":"p${i}","inputs":[{"name":"a","datatype":"FP32","shape":[1.0,3],"data":[${a}],"parameters":{}},{"name":"b","datatype":"FP64","shape":[1,2],"data":[${b}]}]}`); // 1.0, parameters: parsed
        else if (r < 0.895) texts.push(`{"custom_id":"w${i}","inputs":[{"name":"a","datatype":"FP64","shape":[1,3],"data":[${a}]},{"name":"b","datatype":"FP64","shape":[1,2],"data":[${b}]}]}`); // refused: a is FP32
        else if (r < 0.9) texts.push(`{"custom_id":"m${i}","inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[${a}]},{"name":"a","datatype":"FP32","shape":[1,3],"data":[${a}]}]}`); // refused: a twice, no b
        else if (r < 0.92) texts.push(`{"custom_id":"short${i}","inputs":{"a":[${a}],"b":[1]}}`); // refused: too few values
        else if (r < 0.925) texts.push(`{"custom_id":"s${i}","inputs":[{"name":"a","datatype":"FP32","shape":[3,1],"data":[${a}]},{"name":"b","datatype":"FP64","shape":[1,2],"data":[${b}]}]}`); // refused: a's shape
        else if (r < 0.93) texts.push(`{"custom_id":"n${i}","inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[${a}]},{"name":"b","datatype":"FP64","shape":[1,2,1],"data":[${b}]}]}`); // refused: b's dimensions
        else if (r < 0.94) texts.push(`{"custom_id":"long${i}","inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"data":[${a},1]},{"name":"b","datatype":"FP64","shape":[1,2],"data":[${b}]}]}`); // refused: a value too many
        else if (r < 0.96) texts.push(`{"custom_id":"big${i}","inputs":{"a":[1e39,2,3],"b":[${b}]}}`); // refused: out of FP32's range
        else texts.push('{"custom_id":"x", not json');
      }
      for (const chunkRows of [1, 3, 64, 5000]) {
        const compact = feed(chunkRows, texts);
        const parsed = run(chunkRows, texts.map((t, i) => parseLineText(t, i + 1, sig)));
        expect(compact.map(view)).toEqual(parsed.map(view));
        // the same in blocks used again, each handed back dirty by the chunk before
        const pool = new BlockPool(1 << 20);
        const views: ReturnType<typeof view>[] = [];
        const blocks = new Set<ArrayBufferLike>();
        feed(chunkRows, texts, pool, (chunk) => {
          views.push(view(chunk));
          for (const t of chunk.inputs) if (!Array.isArray(t.data)) blocks.add(t.data.buffer);
        });
        expect(views).toEqual(parsed.map(view));
        if (parsed.length > 4) expect(blocks.size).toBeLessThan(parsed.length);
      }
      // the common chunk keeps only its ids, written as the lines were read
      expect(feed(64, texts.slice(0, 3).map((_, i) => `{"custom_id":"r${i}","inputs":{"a":[1,2,3],"b":[4,5]}}`))[0]!.lines).toMatchObject({ count: 3 });
      expect(parsedLines).toBe(0);
      // tensor-form lines of one row are read too, and keep only their ids, as a form of their own
      const tensor = (i: number) => `{"custom_id":"t${i}","inputs":[{"name":"b","datatype":"FP64","shape":[1,2],"data":[4,5]},{"name":"a","datatype":"FP32","shape":[1,3],"data":[1,2.5,3]}]}`;
      expect(storedLines(feed(64, [0, 1].map(tensor))[0]!.lines).toString()).toBe('{"tensor_ids":["t0","t1"]}');
      expect(parsedLines).toBe(0);
      // several rows in the tensor form are read too, and a chunk with such a line keeps its list
      const rowsOf = (k: number) => `{"custom_id":"m${k}","inputs":[{"name":"a","datatype":"FP32","shape":[${k},3],"data":[${Array(3 * k).fill(1).join(',')}]},{"name":"b","datatype":"FP64","shape":[${k},2],"data":[${Array(2 * k).fill(2).join(',')}]}]}`;
      const several = feed(8, [rowsOf(3), rowsOf(4), rowsOf(2), rowsOf(9)]);
      expect(parsedLines).toBe(2); // rowsOf(2) would take the first chunk past 8: parsed and added; rowsOf(9), past a chunk: parsed
      expect(several.map((c) => [c.rows, storedLines(c.lines).toString()])).toEqual([[7, '[["m3",3,0],["m4",4,0]]'], [2, '[["m2",2,0]]'], [9, '[["m9",9,0]]']]);
      // a chunk of both forms keeps its list
      expect(storedLines(feed(64, [tensor(0), '{"custom_id":"c","inputs":{"a":[1,2,3],"b":[4,5]}}'])[0]!.lines).toString()).toBe('[["t0",1,0],["c",1,1]]');
    });

    it('leaves no trace of a line it does not take', () => {
      const c = new Chunker(4);
      expect(c.addRow(Buffer.from('{"custom_id":"x","inputs":{"a":[1,2,3]}}'), 0, 38, 1, plan)).toBeUndefined();
      expect(c.finish()).toBeUndefined();
      expect(c.addRow(Buffer.from('nope'), 0, 4, 2, plan)).toBeUndefined();
      expect(c.add(invalid('e'))).toEqual([]);
      expect(c.finish()).toMatchObject({ rows: 0, linesWithRows: 0, inputs: [] });
    });

    it('takes no new block a line for lines it does not read (a file of invalid lines)', () => {
      const made = new Set<ArrayBuffer>();
      const pool = new (class extends BlockPool {
        override take(bytes: number): ArrayBuffer {
          const block = super.take(bytes);
          made.add(block);
          return block;
        }
      })(1 << 24);
      const texts = Array.from({ length: 500 }, (_, i) => `{"custom_id":"x${i}","inputs":{"a":[${i}],"b":[1,2]}}`); // a: too few values
      const { chunks, parsed } = feedLines(sig, 64, [...texts, '{"custom_id":"ok","inputs":{"a":[1,2,3],"b":[4,5]}}', ...texts], pool);
      expect(parsed).toBe(1000);
      expect(chunks.map((c) => [c.rows, linesOf(c).length])).toEqual([[1, 1001]]);
      expect(made.size).toBeLessThanOrEqual(2); // one block a column, taken again line after line
    });

    it('does not read a line into a chunk that holds rows of another shape', () => {
      const c = new Chunker(8);
      c.add(good('w', 1, { width: 5 }));
      expect(c.addRow(Buffer.from('{"inputs":{"a":[1,2,3],"b":[4,5]}}'), 0, 35, 2, plan)).toBeUndefined();
      expect(c.finish()!.rows).toBe(1);
    });
  });

  describe('addRow: integer inputs (token ids and masks)', () => {
    const sig: Signature = {
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [-1, 4] },
        { name: 'mask', datatype: 'INT32', shape: [-1, 4] },
      ],
      outputs: [],
      batchable: true,
    };

    it('makes the chunks that parsing and adding every line makes, byte for byte, through reused blocks too', () => {
      expect(rowPlan(sig)).not.toBeNull();
      let seed = 3;
      const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const id = () => {
        const r = rand();
        if (r < 0.05) return ['1.0', '1e3', '1000000000000000', '12345678901234567890', '-9007199254740993', '2.5'][Math.floor(rand() * 6)]!; // the general path's
        const n = Math.floor(rand() * 10 ** (1 + Math.floor(rand() * 15)));
        return String(rand() < 0.3 ? -n : n);
      };
      const mask = () => (rand() < 0.03 ? ['2147483648', '-2147483649', '0.5', '1E0'][Math.floor(rand() * 4)]! : String(Math.floor(rand() * 3) - 1));
      const texts: string[] = [];
      for (let i = 0; i < 1500; i++) {
        const ids = [id(), id(), id(), id()].join(rand() < 0.5 ? ',' : ', ');
        const m = [mask(), mask(), mask(), mask()].join(',');
        const r = rand();
        if (r < 0.7) texts.push(`{"custom_id":"r${i}","inputs":{"ids":[${ids}],"mask":[${m}]}}`);
        else if (r < 0.85) texts.push(`{"custom_id":"t${i}","inputs":[{"name":"ids","datatype":"INT64","shape":[2,4],"data":[${ids},${ids}]},{"name":"mask","datatype":"INT32","shape":[2,4],"data":[${m},${m}]}]}`);
        else if (r < 0.9) texts.push(`{"custom_id":"f${i}","inputs":[{"name":"ids","datatype":"FP32","shape":[1,4],"data":[${ids}]},{"name":"mask","datatype":"INT32","shape":[1,4],"data":[${m}]}]}`); // refused: ids is INT64
        else if (r < 0.95) texts.push(`{"custom_id":"s${i}","inputs":{"ids":[${ids}],"mask":[1,2]}}`); // refused: too few values
        else texts.push(`{"inputs":{"mask":[${m}],"ids":[${ids}]}}`);
      }
      let scanned = 0;
      for (const chunkRows of [1, 3, 64, 5000]) {
        const want = run(chunkRows, texts.map((t, i) => parseLineText(t, i + 1, sig))).map(view);
        const plain = feedLines(sig, chunkRows, texts);
        expect(plain.chunks.map(view)).toEqual(want);
        // the same in blocks used again, each handed back dirty by the chunk before (viewed before that)
        const views: ReturnType<typeof view>[] = [];
        const pooled = feedLines(sig, chunkRows, texts, new BlockPool(1 << 20), (chunk) => views.push(view(chunk)));
        expect(views).toEqual(want);
        scanned += 2 * texts.length - plain.parsed - pooled.parsed;
      }
      expect(scanned).toBeGreaterThan(4 * 2 * 900); // most lines were read by the scanner
    });
  });
});
