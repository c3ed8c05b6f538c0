import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '@maas/shared';
import { LineTooLongError, lineText, ndjsonLines, TooManyLinesError } from './ndjson.js';

/** A line as the tests write it: its number and decoded text. */
type NdjsonLine = { n: number; text: string };

async function* from(pieces: readonly (Buffer | string)[]): AsyncGenerator<Buffer | string> {
  for (const p of pieces) yield p;
}

async function collect(pieces: readonly (Buffer | string)[], maxLineBytes = 1 << 20): Promise<NdjsonLine[]> {
  const out: NdjsonLine[] = [];
  for await (const lines of ndjsonLines(from(pieces), maxLineBytes)) for (const { n, bytes } of lines) out.push({ n, text: lineText(bytes) });
  return out;
}

/** Reads until the generator throws; returns what came before and the error. */
async function collectUntilError(stream: AsyncIterable<Buffer | string>, maxLineBytes: number) {
  const lines: NdjsonLine[] = [];
  try {
    for await (const batch of ndjsonLines(stream, maxLineBytes)) for (const { n, bytes } of batch) lines.push({ n, text: lineText(bytes) });
  } catch (error) {
    return { lines, error };
  }
  throw new Error(`expected an error, got ${JSON.stringify(lines)}`);
}

/** Splits a buffer at the given byte offsets (ascending). */
function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

// Two-byte "é", four-byte emoji (a surrogate pair in JS), a three-byte "€", CRLF and LF endings,
// blank and whitespace-only lines, and a last line without a newline.
const TEXT = '{"a":"é"}\r\n\n{"b":"😀x"}\n  \r\n{"c":"€"}\r\n{"d":1}';
const EXPECTED: NdjsonLine[] = [
  { n: 1, text: '{"a":"é"}' },
  { n: 3, text: '{"b":"😀x"}' },
  { n: 5, text: '{"c":"€"}' },
  { n: 6, text: '{"d":1}' },
];

describe('ndjsonLines', () => {
  it('splits one chunk into numbered lines', async () => {
    expect(await collect([Buffer.from('a\nb\nc\n')])).toEqual([
      { n: 1, text: 'a' },
      { n: 2, text: 'b' },
      { n: 3, text: 'c' },
    ]);
  });

  it('reads the fixture whole as expected (sanity check for the split tests)', async () => {
    expect(await collect([Buffer.from(TEXT)])).toEqual(EXPECTED);
  });

  it('gives the same lines whichever byte the stream is split at, even inside a multi-byte character', async () => {
    const buf = Buffer.from(TEXT);
    // The fixture really does have characters whose bytes a split can separate.
    expect(buf.length).toBeGreaterThan(TEXT.length);
    for (let i = 0; i <= buf.length; i++) {
      expect(await collect(splitAt(buf, [i])), `split at byte ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same lines for every pair of split points', async () => {
    const buf = Buffer.from(TEXT);
    for (let i = 0; i <= buf.length; i++) {
      for (let j = i; j <= buf.length; j++) {
        const got = await collect(splitAt(buf, [i, j]));
        if (JSON.stringify(got) !== JSON.stringify(EXPECTED)) expect(got, `split at bytes ${i} and ${j}`).toEqual(EXPECTED);
      }
    }
  });

  it('gives the same lines when every byte arrives alone', async () => {
    const buf = Buffer.from(TEXT);
    const bytes = Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
    expect(await collect(bytes)).toEqual(EXPECTED);
  });

  it('decodes each half of a split emoji into nothing until the line is whole (no U+FFFD)', async () => {
    const buf = Buffer.from('😀\n');
    const lines = await collect([buf.subarray(0, 1), buf.subarray(1, 3), buf.subarray(3)]);
    expect(lines).toEqual([{ n: 1, text: '😀' }]);
    expect(lines[0]!.text).not.toContain('\uFFFD');
  });

  describe('line endings', () => {
    it('drops the CR of a CRLF, also when CR and LF arrive in different chunks', async () => {
      expect(await collect(['a\r\nb\r\n'])).toEqual([
        { n: 1, text: 'a' },
        { n: 2, text: 'b' },
      ]);
      expect(await collect(['a\r', '\nb\r', '\n'])).toEqual([
        { n: 1, text: 'a' },
        { n: 2, text: 'b' },
      ]);
    });

    it('keeps a CR that does not end the line, and drops only one CR before LF', async () => {
      expect(await collect(['a\rb\n'])).toEqual([{ n: 1, text: 'a\rb' }]);
      expect(await collect(['x\r\r\n'])).toEqual([{ n: 1, text: 'x\r' }]);
    });

    it('drops a trailing CR on a last line without LF', async () => {
      expect(await collect(['a\nb\r'])).toEqual([
        { n: 1, text: 'a' },
        { n: 2, text: 'b' },
      ]);
    });
  });

  describe('blank lines', () => {
    it('skips blank and whitespace-only lines but counts them in n', async () => {
      expect(await collect(['\n\na\n\n \t \n\r\nb\n\n'])).toEqual([
        { n: 3, text: 'a' },
        { n: 7, text: 'b' },
      ]);
    });

    it('keeps the surrounding whitespace of a non-blank line', async () => {
      expect(await collect(['  {"a":1}\t\n'])).toEqual([{ n: 1, text: '  {"a":1}\t' }]);
    });

    it('yields nothing for an empty stream, empty chunks, or only blank lines', async () => {
      expect(await collect([])).toEqual([]);
      expect(await collect([Buffer.alloc(0), '', Buffer.alloc(0)])).toEqual([]);
      expect(await collect(['\n', '\r\n  \n', '   '])).toEqual([]);
    });
  });

  describe('the last line', () => {
    it('is yielded without a trailing newline, with its number', async () => {
      expect(await collect(['a\n', '\nb'])).toEqual([
        { n: 1, text: 'a' },
        { n: 3, text: 'b' },
      ]);
    });

    it('is a single line when the stream holds no newline at all, even over several chunks', async () => {
      expect(await collect(['{"a":', ' 1', '}'])).toEqual([{ n: 1, text: '{"a": 1}' }]);
    });

    it('adds no phantom empty line after a final newline', async () => {
      expect(await collect(['a\n'])).toEqual([{ n: 1, text: 'a' }]);
    });
  });

  it('accepts string chunks, mixed with Buffers', async () => {
    expect(await collect(['{"x":', Buffer.from('"é"}\n{"y"'), ':2}\n', '{"z":"😀"}'])).toEqual([
      { n: 1, text: '{"x":"é"}' },
      { n: 2, text: '{"y":2}' },
      { n: 3, text: '{"z":"😀"}' },
    ]);
  });

  describe('LineTooLongError', () => {
    it('accepts a line of exactly maxLineBytes and refuses one byte more', async () => {
      expect(await collect(['12345\nabc\n'], 5)).toEqual([
        { n: 1, text: '12345' },
        { n: 2, text: 'abc' },
      ]);
      expect(await collect(['12345'], 5)).toEqual([{ n: 1, text: '12345' }]);
      await expect(collect(['123456\n'], 5)).rejects.toBeInstanceOf(LineTooLongError);
      await expect(collect(['123456'], 5)).rejects.toBeInstanceOf(LineTooLongError); // the last line, without a newline
    });

    it('does not count a CRLF line\'s CR against the limit, wherever the pieces split it', async () => {
      expect(await collect(['12345\r\nabc\r\n'], 5)).toEqual([{ n: 1, text: '12345' }, { n: 2, text: 'abc' }]);
      expect(await collect(['12345\r', '\nabc\n'], 5)).toEqual([{ n: 1, text: '12345' }, { n: 2, text: 'abc' }]);
      expect(await collect(['123', '45\r', '\n'], 5)).toEqual([{ n: 1, text: '12345' }]);
      expect(await collect(['123', '45\r\n'], 5)).toEqual([{ n: 1, text: '12345' }]);
      expect(await collect(['12345\r'], 5)).toEqual([{ n: 1, text: '12345' }]);
      await expect(collect(['123456\r\n'], 5)).rejects.toBeInstanceOf(LineTooLongError);
      await expect(collect(['123', '456\r\n'], 5)).rejects.toBeInstanceOf(LineTooLongError);
      await expect(collect(['123', '456', '7'], 5)).rejects.toBeInstanceOf(LineTooLongError);
    });

    it('reports the line number of a long line inside a chunk, after yielding the lines before it', async () => {
      const { lines, error } = await collectUntilError(from(['ok\n\nthis line is too long\nok\n']), 10);
      expect(lines).toEqual([{ n: 1, text: 'ok' }]);
      expect(error).toBeInstanceOf(LineTooLongError);
      expect(error).toMatchObject({ status: 413, n: 3, limit: 10, message: expect.stringMatching(/^line 3 is longer than 10 bytes/) });
    });

    it('counts bytes, not characters', async () => {
      // "éé" is 2 characters but 4 bytes
      expect(await collect(['éé\n'], 4)).toEqual([{ n: 1, text: 'éé' }]);
      await expect(collect(['éé\n'], 3)).rejects.toMatchObject({ n: 1, limit: 3 });
    });

    it('reports a trailing partial line as soon as it is too long, without reading further', async () => {
      async function* endless() {
        yield Buffer.from('a\n\n');
        yield Buffer.from('bbbbbbbbbbbb'); // 12 bytes, no newline yet
        throw new Error('read past the chunk that made the line too long');
      }
      const { lines, error } = await collectUntilError(endless(), 10);
      expect(lines).toEqual([{ n: 1, text: 'a' }]);
      expect(error).toBeInstanceOf(LineTooLongError);
      expect(error).toMatchObject({ n: 3, limit: 10 });
    });

    it('reports a partial line that grows too long over several chunks', async () => {
      const { lines, error } = await collectUntilError(from(['first\nsecond\nxx', 'xxx', 'xxx', 'xxx', 'x\n']), 10);
      expect(lines.map((l) => l.n)).toEqual([1, 2]);
      expect(error).toBeInstanceOf(LineTooLongError);
      expect(error).toMatchObject({ n: 3, limit: 10 });
    });

    it('reports a long line completed by a later chunk with the right number', async () => {
      const { error } = await collectUntilError(from(['a\nbbbbb', 'bbbbbbbb\nc\n']), 10);
      expect(error).toMatchObject({ n: 2, limit: 10 });
    });

    it('counts blank lines in the reported number', async () => {
      const { error } = await collectUntilError(from(['\r\n\n  \n' + 'x'.repeat(20) + '\n']), 10);
      expect(error).toMatchObject({ n: 4 });
    });
  });
});

describe('ndjsonLines: long lines', () => {
  it('joins a line that spans many pieces once, byte for byte', async () => {
    const long = 'x'.repeat(1_000_000);
    async function* pieces() {
      yield Buffer.from('{"a":1}\n"');
      for (let i = 0; i < long.length; i += 4096) yield Buffer.from(long.slice(i, i + 4096));
      yield Buffer.from('"\r');
      yield Buffer.from('\n{"b":2}');
    }
    const got: { n: number; text: string }[] = [];
    for await (const lines of ndjsonLines(pieces(), 2_000_000)) for (const l of lines) got.push({ n: l.n, text: lineText(l.bytes) });
    expect(got.map((g) => g.n)).toEqual([1, 2, 3]);
    expect(got[1]!.text).toBe(`"${long}"`);
    expect(got[2]!.text).toBe('{"b":2}');
  });

  it('ends a line over the limit as soon as its length is known, without reading the rest', async () => {
    let read = 0;
    async function* endless() {
      yield Buffer.from('{"a":1}\n');
      for (;;) {
        read++;
        yield Buffer.alloc(1024, 0x78);
      }
    }
    const seen: number[] = [];
    await expect((async () => {
      for await (const lines of ndjsonLines(endless(), 10_000)) for (const l of lines) seen.push(l.n);
    })()).rejects.toThrow(LineTooLongError);
    expect(seen).toEqual([1]);
    expect(read).toBeLessThanOrEqual(11);
  });
});

describe('ndjsonLines: byte order mark', () => {
  it('drops a UTF-8 BOM before the first line only', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(await collect([Buffer.concat([bom, Buffer.from('{"a":1}\n\ufeffkept\n')])])).toEqual([
      { n: 1, text: '{"a":1}' },
      { n: 2, text: '\ufeffkept' },
    ]);
    expect(await collect([bom, Buffer.from('{"b":2}')])).toEqual([{ n: 1, text: '{"b":2}' }]);
  });
});

describe('ndjsonLines: maxLines', () => {
  const count = async (stream: AsyncIterable<Buffer | string>, maxLines: number) => {
    let n = 0;
    for await (const lines of ndjsonLines(stream, 1 << 20, maxLines)) n += lines.length;
    return n;
  };

  it('counts blank lines toward the limit, and a last line without a newline', async () => {
    expect(await count(from(['a\n\nb\n']), 3)).toBe(2);
    await expect(count(from(['a\n\nb\n\n']), 3)).rejects.toBeInstanceOf(TooManyLinesError);
    expect(await count(from(['a\nb\nc']), 3)).toBe(3);
    await expect(count(from(['a\nb\nc\nd']), 3)).rejects.toMatchObject({ limit: 3, status: 413 });
  });

  it('stops a stream of nothing but newlines (a gzip bomb inflates to this) within the limit, quickly', async () => {
    const mb = Buffer.alloc(1 << 20, 0x0a);
    let pieces = 0;
    async function* newlines() {
      for (;;) {
        pieces++;
        yield mb;
      }
    }
    const started = Date.now();
    await expect(count(newlines(), 10_000_000)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(pieces).toBe(10);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a too long line is a 413 (PayloadTooLargeError)', () => {
    expect(new LineTooLongError(3, 10)).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('a body that is not NDJSON', () => {
  it('refuses a gzip stream or a NumPy file sent as NDJSON at its first bytes (a 415 that says how to send it), not a batch of lines that fail as not UTF-8', async () => {
    const { gzipSync } = await import('node:zlib');
    await expect(collect([gzipSync('{"inputs":{"x":[1]}}\n')])).rejects.toMatchObject({ status: 415, message: expect.stringMatching(/Content-Encoding: gzip/) });
    const npy = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY\x01\x00'), Buffer.alloc(8)]);
    await expect(collect([npy])).rejects.toMatchObject({ status: 415, message: expect.stringMatching(/application\/x-npy/) });
    await expect(collect([Buffer.alloc(0), npy])).rejects.toMatchObject({ status: 415 }); // the first bytes, whatever piece brings them
    await expect(collect([npy.subarray(0, 1), npy.subarray(1, 3), npy.subarray(3)])).rejects.toMatchObject({ status: 415 });
    const gz = gzipSync('{}\n');
    await expect(collect([gz.subarray(0, 1), gz.subarray(1)])).rejects.toMatchObject({ status: 415 });
    // a first byte like a magic's that the next ones are not: NDJSON (a bad line here), not a 415
    expect(await collect([Buffer.from([0x1f]), Buffer.from('x\n{}\n')])).toEqual([{ n: 1, text: '\u001fx' }, { n: 2, text: '{}' }]);
    expect((await collect([Buffer.from([0x93, 0x0a]), Buffer.from('{}\n')])).map((l) => l.n)).toEqual([1, 2]);
    expect(await collect([Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0x0a])])).toEqual([{ n: 1, text: '{}' }]); // a BOM is text
  });
});
