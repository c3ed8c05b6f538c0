import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../npy.js';
import { HEAD_BYTES, inputForm, openBatchInput, peek } from './source.js';

const NDJSON = Buffer.from(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { x: [i, Math.sin(i)] } })).join('\n') + '\n');
const NPY = Buffer.from(encodeNpy(Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i)), [1000, 4]));

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('inputForm', () => {
  it('NDJSON, or an .npy array by its magic bytes or its name', () => {
    expect(inputForm(NDJSON.subarray(0, HEAD_BYTES), 'rows.ndjson')).toEqual({ format: 'ndjson' });
    expect(inputForm(NPY.subarray(0, HEAD_BYTES), '/dev/fd/63')).toEqual({ format: 'npy' });
    expect(inputForm(Buffer.from('x'), 'ROWS.NPY')).toEqual({ format: 'npy' }); // too short to tell: the name says
    expect(inputForm(new Uint8Array(0))).toEqual({ format: 'ndjson' });
  });

  it('gzip by its first two bytes, whatever the name, and what it holds from its first bytes decompressed', () => {
    expect(inputForm(gzipSync(NDJSON).subarray(0, HEAD_BYTES), 'rows.ndjson')).toEqual({ format: 'ndjson', contentEncoding: 'gzip' });
    expect(inputForm(gzipSync(NPY).subarray(0, HEAD_BYTES), 'rows.gz')).toEqual({ format: 'npy', contentEncoding: 'gzip' });
    expect(inputForm(gzipSync(NPY).subarray(0, HEAD_BYTES))).toEqual({ format: 'npy', contentEncoding: 'gzip' });
    expect(inputForm(gzipSync(NDJSON))).toEqual({ format: 'ndjson', contentEncoding: 'gzip' }); // shorter than the head: all of it
    // The magic, then no gzip: sent as gzip all the same (the API says what is wrong); the name picks the type.
    expect(inputForm(Buffer.from([0x1f, 0x8b, 0, 0]), 'rows.npy.gz')).toEqual({ format: 'npy', contentEncoding: 'gzip' });
    expect(inputForm(Buffer.from('plain text named .gz'), 'rows.ndjson.gz')).toEqual({ format: 'ndjson' });
  });
});

describe('peek', () => {
  it('gives the first n bytes and a stream of every byte, those included', async () => {
    const chunks = [NDJSON.subarray(0, 10), NDJSON.subarray(10, 5000), NDJSON.subarray(5000)];
    const { head, stream } = await peek(Readable.from(chunks), 100);
    expect(Buffer.from(head).equals(NDJSON.subarray(0, 100))).toBe(true);
    expect((await bytesOf(stream)).equals(NDJSON)).toBe(true);
    const short = await peek(Readable.from([Buffer.from('ab')]), 100);
    expect(Buffer.from(short.head).toString()).toBe('ab');
    expect((await bytesOf(short.stream)).toString()).toBe('ab');
  });

  it('stops once enough is read to tell: a producer that writes a line and pauses (stdin, a FIFO) is not waited on for 4 KB', async () => {
    let release: (() => void) | undefined;
    async function* slow() {
      yield Buffer.from('{"inputs":{"x":[1]}}\n');
      await new Promise<void>((r) => (release = r)); // the producer pauses
      yield Buffer.from('{"inputs":{"x":[2]}}\n');
    }
    const { head, stream } = await openBatchInput('-', slow()).then((input) => {
      if (input.kind !== 'stream') throw new Error('stdin is a stream');
      return { head: input.form, stream: input.stream };
    });
    expect(head).toEqual({ format: 'ndjson' }); // told by the first line: the producer was never asked for more
    const all = bytesOf(stream);
    while (!release) await new Promise((r) => setTimeout(r, 5)); // the upload reads on, and meets the pause
    release();
    expect((await all).toString()).toBe('{"inputs":{"x":[1]}}\n{"inputs":{"x":[2]}}\n');
  });

  it('throws a read error when the stream is read, after the bytes read before it', async () => {
    async function* failing() {
      yield Buffer.from('ab');
      throw new Error('EIO');
    }
    const { head, stream } = await peek(failing(), 100);
    expect(Buffer.from(head).toString()).toBe('ab');
    const seen: string[] = [];
    await expect((async () => {
      for await (const c of stream) seen.push(Buffer.from(c).toString());
    })()).rejects.toThrow('EIO');
    expect(seen).toEqual(['ab']);
  });
});

describe('openBatchInput', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maas-source-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a regular file: by path, with its size and the form of its first bytes', async () => {
    const file = join(dir, 'rows.ndjson.gz');
    const gz = gzipSync(NDJSON);
    await writeFile(file, gz);
    expect(await openBatchInput(file, Readable.from([]))).toEqual({ kind: 'file', path: file, size: gz.length, form: { format: 'ndjson', contentEncoding: 'gzip' } });
  });

  it('a FIFO (<(zcat x.gz)) and stdin: a stream, read once, every byte sent, its form from its first bytes', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    createWriteStream(fifo).end(NPY);
    const input = await openBatchInput(fifo, Readable.from([]));
    expect(input).toMatchObject({ kind: 'stream', form: { format: 'npy' } });
    expect((await bytesOf((input as { stream: AsyncIterable<Uint8Array> }).stream)).equals(NPY)).toBe(true);
    const stdin = await openBatchInput('-', Readable.from([gzipSync(NDJSON)]));
    expect(stdin).toMatchObject({ kind: 'stream', form: { format: 'ndjson', contentEncoding: 'gzip' } });
  });

  it('refuses a directory and a path that is not there (usage errors)', async () => {
    await expect(openBatchInput(dir, Readable.from([]))).rejects.toMatchObject({ name: 'UsageError', message: `${dir} is a directory: name a file` });
    await expect(openBatchInput(join(dir, 'absent'), Readable.from([]))).rejects.toMatchObject({ name: 'UsageError', message: expect.stringMatching(/cannot read .*absent: no such file$/) });
  });
});
