import { describe, expect, it } from 'vitest';
import { MaasProtocolError } from './errors.js';
import { encodeNdjson, parseNdjson, splitLines, toNdjsonLine } from './ndjson.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
  for (const p of parts) yield p;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('splitLines', () => {
  const text = '{"custom_id":"r1","outputs":{"label":["Adélie"]}}\r\n{"custom_id":"r2"}\n\n{"custom_id":"ünï ✓ 🐧"}\r\n{"last":true}';
  const expected = ['{"custom_id":"r1","outputs":{"label":["Adélie"]}}', '{"custom_id":"r2"}', '', '{"custom_id":"ünï ✓ 🐧"}', '{"last":true}'];

  it('gives the same lines wherever the bytes are cut (one cut, every position)', async () => {
    const all = bytes(text);
    for (let cut = 0; cut <= all.length; cut++) {
      expect(await collect(splitLines(chunks(all.slice(0, cut), all.slice(cut)))), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same lines from one-byte chunks (CRLF and multi-byte characters split)', async () => {
    const all = bytes(text);
    expect(await collect(splitLines(chunks(...Array.from(all, (b) => Uint8Array.of(b)))))).toEqual(expected);
  });

  it('handles a CR at the end of one chunk and its LF at the start of the next', async () => {
    expect(await collect(splitLines(chunks('a\r', '\nb\r', '\n')))).toEqual(['a', 'b']);
  });

  it('yields a last line without a newline, and nothing more after a final newline', async () => {
    expect(await collect(splitLines(chunks('x\ny')))).toEqual(['x', 'y']);
    expect(await collect(splitLines(chunks('x\ny\n')))).toEqual(['x', 'y']);
    expect(await collect(splitLines(chunks('x\r\n')))).toEqual(['x']);
    expect(await collect(splitLines(chunks()))).toEqual([]);
    expect(await collect(splitLines(chunks('', '')))).toEqual([]);
  });

  it('joins a long line that arrives in many chunks', async () => {
    const long = 'z'.repeat(100_000);
    const parts = Array.from({ length: 100 }, (_, i) => long.slice(i * 1000, (i + 1) * 1000));
    expect(await collect(splitLines(chunks(...parts, '\nnext')))).toEqual([long, 'next']);
  });

  it('yields lines as they arrive, before the source ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield bytes('first\nsec');
      await gate;
      yield bytes('ond\n');
    }
    const it = splitLines(slow());
    expect((await it.next()).value).toBe('first');
    release();
    expect((await it.next()).value).toBe('second');
    expect((await it.next()).done).toBe(true);
  });
});

describe('parseNdjson', () => {
  it('parses each line and skips blank ones', async () => {
    expect(await collect(parseNdjson(chunks('{"a":1}', '', '  ', '[2]') as AsyncIterable<string>))).toEqual([{ a: 1 }, [2]]);
  });

  it('names the line that is not JSON', async () => {
    const err = await collect(parseNdjson(chunks('{"a":1}', '{"b":', '{}') as AsyncIterable<string>)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasProtocolError);
    expect((err as Error).message).toMatch(/line 2 is not JSON/);
  });
});

describe('toNdjsonLine', () => {
  it('serialises objects and passes single-line strings', () => {
    expect(toNdjsonLine({ custom_id: 'r1', inputs: { features: [1, 2] } })).toBe('{"custom_id":"r1","inputs":{"features":[1,2]}}');
    expect(toNdjsonLine('{"a":1}')).toBe('{"a":1}');
    expect(toNdjsonLine('{"a":1}\n')).toBe('{"a":1}');
    expect(toNdjsonLine('{"a":1}\r\n')).toBe('{"a":1}');
  });

  it('refuses what would not be exactly one line', () => {
    expect(() => toNdjsonLine('{"a":1}\n{"b":2}')).toThrow(/line break/);
    expect(() => toNdjsonLine(undefined)).toThrow(TypeError);
  });
});

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ text: string; chunks: number }> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return { text: Buffer.concat(parts).toString('utf8'), chunks: parts.length };
}

describe('encodeNdjson (batch request bodies)', () => {
  it('turns objects and strings, sync or async, into NDJSON', async () => {
    const lines = [{ custom_id: 'r1', inputs: { features: [5.1, 3.5, 1.4, 0.2] } }, '{"custom_id":"r2","inputs":{"features":[1,2,3,4]}}'];
    expect((await readAll(encodeNdjson(lines).stream)).text).toBe(
      '{"custom_id":"r1","inputs":{"features":[5.1,3.5,1.4,0.2]}}\n{"custom_id":"r2","inputs":{"features":[1,2,3,4]}}\n',
    );
    async function* gen() {
      yield { custom_id: 'a' };
      yield { custom_id: 'b' };
    }
    const body = encodeNdjson(gen());
    expect((await readAll(body.stream)).text).toBe('{"custom_id":"a"}\n{"custom_id":"b"}\n');
    expect(body.progress).toEqual({ lines: 2, bytes: 36 });
  });

  it('ends the body at a line JSON cannot hold (NaN), naming the line and where in it', async () => {
    const body = encodeNdjson([{ custom_id: 'a', inputs: { x: [1] } }, { custom_id: 'b', inputs: { x: [1, Number.NaN] } }]);
    await expect(readAll(body.stream)).rejects.toThrow(/^line 2: NaN at inputs\.x\[1\] cannot be sent/);
    expect(body.failure).toBeInstanceOf(TypeError);
  });

  it('produces lines only as the reader asks for them (backpressure, flat memory)', async () => {
    let produced = 0;
    function* many() {
      for (let i = 0; i < 1_000_000; i++) {
        produced++;
        yield { custom_id: `r${i}`, inputs: { features: [i, i, i, i] } };
      }
    }
    const body = encodeNdjson(many(), { chunkBytes: 4096 });
    const reader = body.stream.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThanOrEqual(4096);
    expect(first.value!.byteLength).toBeLessThan(4096 + 200);
    // One chunk read, at most one more buffered (highWaterMark 1): nowhere near a million lines.
    expect(produced).toBeLessThan(400);
    await reader.cancel();
  });

  it('sends gathered lines when an async source waits on I/O, instead of holding them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield { custom_id: 'r1' };
      yield { custom_id: 'r2' };
      await gate; // e.g. a database cursor fetching its next page
      yield { custom_id: 'r3' };
    }
    const reader = encodeNdjson(slow()).stream.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('{"custom_id":"r1"}\n{"custom_id":"r2"}\n');
    release();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('{"custom_id":"r3"}\n');
    expect((await reader.read()).done).toBe(true);
  });

  it('cuts the body into chunks of about chunkBytes', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => ({ custom_id: `r${i}` }));
    const { text, chunks: n } = await readAll(encodeNdjson(lines, { chunkBytes: 1024 }).stream);
    expect(text.split('\n').length).toBe(1001);
    expect(n).toBeGreaterThan(15);
    expect(n).toBeLessThan(30);
  });

  it('records a failing source and errors the stream', async () => {
    function* bad() {
      yield { ok: 1 };
      throw new Error('disk on fire');
    }
    const body = encodeNdjson(bad());
    await expect(readAll(body.stream)).rejects.toThrow('disk on fire');
    expect((body.failure as Error).message).toBe('disk on fire');
    const multi = encodeNdjson(['{"a":1}\n{"b":2}']);
    await expect(readAll(multi.stream)).rejects.toThrow(/line break/);
  });

  it('closes the source when the request is abandoned', async () => {
    let closed = false;
    function* lines() {
      try {
        for (let i = 0; ; i++) yield { i };
      } finally {
        closed = true;
      }
    }
    const body = encodeNdjson(lines(), { chunkBytes: 64 });
    const reader = body.stream.getReader();
    await reader.read();
    await reader.cancel();
    expect(closed).toBe(true);
  });

  it('sends a byte source (a file or stdin read as a stream) as the NDJSON it is, chunks cut anywhere', async () => {
    const text = '{"custom_id":"a","inputs":{"x":[1]}}\n{"custom_id":"b","inputs":{"x":[2]}}\n{"custom_id":"c","inputs":{"x":[3]}}';
    const cut = [bytes(text.slice(0, 10)), bytes(text.slice(10, 50)), bytes(text.slice(50))];
    const body = encodeNdjson(chunks(...cut) as AsyncIterable<Uint8Array>);
    expect((await readAll(body.stream)).text).toBe(text);
    expect(body.progress).toEqual({ lines: 2, bytes: text.length }); // newlines sent (the server counts the last line too)
  });

  it('refuses a source that mixes bytes and lines', async () => {
    await expect(readAll(encodeNdjson(chunks(bytes('{"a":1}\n'), '{"b":2}') as AsyncIterable<Uint8Array>).stream)).rejects.toThrow(/either NDJSON bytes or lines/);
    await expect(readAll(encodeNdjson(chunks('{"b":2}', bytes('{"a":1}\n')) as AsyncIterable<Uint8Array>).stream)).rejects.toThrow(/either NDJSON bytes or lines/);
  });

  it('refuses a plain string (it would be sent a character a line)', () => {
    expect(() => encodeNdjson('{"a":1}' as never)).toThrow(/ndjsonFile/);
  });
});
