import { describe, expect, it } from 'vitest';
import type { ChunkLine } from '@maas/shared';
import { IdsJsonWriter, linesWithRows, readLines, storedLines } from './chunk-lines.js';

describe('chunk lines', () => {
  it('an NDJSON chunk with any other line keeps its list: custom ids, rows, form and errors', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b', 0, 0, { type: 'invalid-input', message: 'no' }], ['c', 3, 0], ['d', 1, 0]];
    expect(storedLines(lines)).toBe(JSON.stringify(lines));
    expect(readLines(storedLines(lines) as string)).toEqual({ lines, compactIds: true });
    expect(linesWithRows(lines)).toBe(3);
    expect(linesWithRows(readLines(storedLines(lines) as string).lines)).toBe(3);
  });

  it("an NDJSON chunk of compact single rows only keeps its custom ids, read back as the ids' JSON texts", () => {
    const ids = ['a', 'b "quoted", \\ and ✓', '', '\u0001\ud800 "\\"', ',]}'];
    const lines: ChunkLine[] = ids.map((id) => [id, 1, 1]);
    const stored = storedLines(lines) as string;
    expect(stored).toBe(JSON.stringify({ ids }));
    expect(readLines(stored)).toEqual({ lines: ids.map((id) => JSON.stringify(id)), compactIds: true });
    expect(readLines('{"ids":[]}').lines).toEqual([]);
    expect(linesWithRows(readLines(stored).lines)).toBe(ids.length);
  });

  it('refuses a damaged ids form instead of misreading it', () => {
    for (const bad of ['{"ids":["a"', '{"ids":["a"]', '{"ids":["a" ,"b"]}', '{"ids":["a\\"]}', '{"ids":[a]}', '{"ids":["a"]}x', '{"ids":["a",]}']) {
      expect(() => readLines(bad), bad).toThrow(/stored ids/);
    }
  });

  it('reads the list form written for such a chunk before the ids were (a batch uploaded by an older release)', () => {
    const lines: ChunkLine[] = [['a', 1, 1], ['b', 1, 1]];
    expect(readLines(JSON.stringify(lines))).toEqual({ lines, compactIds: true });
  });

  it('an .npy chunk keeps only its range: row i is line i with custom_id "i"', () => {
    const stored = storedLines({ first: 8192, rows: 3 }) as string;
    expect(stored).toBe('{"first":8192,"rows":3}');
    expect(readLines(stored).lines).toEqual(['"8192"', '"8193"', '"8194"']);
    expect(linesWithRows({ first: 8192, rows: 3 })).toBe(3);
  });

  it('no stored lines read as none', () => {
    expect(readLines(null).lines).toEqual([]);
    expect(readLines(undefined).lines).toEqual([]);
    expect(storedLines([])).toBe('[]');
  });

  it('IdsJsonWriter writes, id by id, exactly the text of the ids form', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? `r${i}` : i % 3 === 1 ? `zü😀 "q" \\ ${i}` : ''));
    const w = new IdsJsonWriter();
    expect(w.lines()).toEqual([]);
    for (const id of ids) {
      // ids without escapes arrive as the JSON text between their quotes (an upload's bytes)
      if (!/["\\]/.test(id)) {
        const text = Buffer.from(`xx${id}yy`);
        w.addText(text, 2, text.length - 2);
      } else {
        w.addString(id);
      }
    }
    const written = w.finish();
    expect(written.count).toBe(ids.length);
    expect(written.json.toString()).toBe(JSON.stringify({ ids }));
    expect(storedLines(written)).toBe(written.json);
    expect(readLines(written.json.toString())).toEqual({ lines: ids.map((id) => JSON.stringify(id)), compactIds: true });
    expect(linesWithRows(written)).toBe(ids.length);
    expect(w.lines()).toEqual(ids.map((id) => [id, 1, 1]));
  });
  it('IdsJsonWriter keeps the first line\'s form: tensor-form lines of one row as {"tensor_ids":[…]}', () => {
    const w = new IdsJsonWriter();
    expect(w.takes(false) && w.takes(true)).toBe(true);
    w.addString('a "q"', false);
    const text = Buffer.from('xxbyy');
    w.addText(text, 2, 3, false);
    expect(w.takes(true)).toBe(false);
    expect(w.takes(false)).toBe(true);
    const written = w.finish();
    expect(written.json.toString()).toBe(JSON.stringify({ tensor_ids: ['a "q"', 'b'] }));
    expect(readLines(written.json.toString())).toEqual({ lines: ['"a \\"q\\""', '"b"'], compactIds: false });
    expect(w.lines()).toEqual([['a "q"', 1, 0], ['b', 1, 0]]);
    expect(() => readLines('{"tensor_ids":["a",]}')).toThrow(/stored ids/);
  });
});
