/**
 * What `maas batch submit` uploads: the file (or stdin, a FIFO, a device) and what its first
 * bytes say it is. A regular file is streamed from disk by the SDK, its size known; anything
 * else is read once, as a stream, without a size. Its first bytes decide how it is sent, not its
 * name alone: a gzip stream with `Content-Encoding: gzip`, a NumPy array as `application/x-npy`.
 */
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { UsageError } from './command.js';

/** How a body is sent, from its first bytes. */
export interface InputForm {
  format: 'ndjson' | 'npy';
  /** the bytes are gzip-compressed: sent as they are, with this Content-Encoding */
  contentEncoding?: 'gzip' | undefined;
}

/** Bytes read to tell a body's form: enough for a gzip stream's first block to yield its first bytes. */
export const HEAD_BYTES = 4096;

const isGzip = (b: Uint8Array) => b[0] === 0x1f && b[1] === 0x8b;
const isNpy = (b: Uint8Array) => b[0] === 0x93 && Buffer.from(b.subarray(1, 6)).toString('latin1') === 'NUMPY';

/**
 * PURE: the form of a body whose first bytes are `head` (up to HEAD_BYTES; all of it when it is
 * shorter), for a file named `name`. gzip by its magic (0x1f 0x8b), whatever its name, and then
 * what it decompresses to; an array by its magic (`\x93NUMPY`), or by a name ending .npy (or
 * .npy.gz) when its bytes do not say (a file too short to tell: the API says what is wrong).
 */
export function inputForm(head: Uint8Array, name = ''): InputForm {
  if (isGzip(head)) {
    let inner: Uint8Array = new Uint8Array(0);
    try {
      // A cut-off stream: what its first bytes decompress to (a sync flush, not an error at the cut).
      inner = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      // Not gzip after all past its magic: the API will say so; the name decides the type.
    }
    return { format: isNpy(inner) || /\.npy\.gz$/i.test(name) ? 'npy' : 'ndjson', contentEncoding: 'gzip' };
  }
  return { format: isNpy(head) || /\.npy$/i.test(name) ? 'npy' : 'ndjson' };
}

/** An upload's source: a regular file (read by path, its size known) or a stream read once. */
export type BatchInput =
  | { kind: 'file'; path: string; size: number; form: InputForm }
  | { kind: 'stream'; stream: AsyncIterable<Uint8Array>; form: InputForm };

/**
 * Opens `path` to upload (`-`: `stdin`). Any readable path but a directory: a regular file is
 * read by the SDK from disk; a FIFO (`<(zcat x.gz)`), a character device, stdin are streamed,
 * their first bytes read to tell their form and sent first. A path that cannot be read is a
 * UsageError.
 */
export async function openBatchInput(path: string, stdin: AsyncIterable<Uint8Array>): Promise<BatchInput> {
  if (path === '-') return streamInput(stdin, '');
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  if (s.isDirectory()) throw new UsageError(`${path} is a directory: name a file`);
  if (!s.isFile()) return streamInput(createReadStream(path, { highWaterMark: 256 * 1024 }), path);
  let head: Uint8Array;
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw unreadable(path, err);
  }
  return { kind: 'file', path, size: s.size, form: inputForm(head, path) };
}

function unreadable(path: string, err: unknown): UsageError {
  const e = err as NodeJS.ErrnoException;
  return new UsageError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
}

/** Whether `head` (the first bytes read so far) tells the form: six do unless they are gzip's, whose inside is looked at too. */
const toldBy = (head: Uint8Array): boolean => head.length >= HEAD_BYTES || (head.length >= 6 && !isGzip(head));

async function streamInput(source: AsyncIterable<Uint8Array>, name: string): Promise<BatchInput> {
  // As few bytes as tell its form: a producer that writes a little and pauses is not waited on for 4 KB.
  const { head, stream } = await peek(source, HEAD_BYTES, toldBy);
  return { kind: 'stream', stream, form: inputForm(head, name) };
}

/**
 * The first `n` bytes of `source` (fewer if it ends first, or once `enough` says the bytes read
 * so far are), and a stream of all its bytes, those first ones included, as if it had not been read. A read error is thrown by the stream, when
 * it is read, as the upload's failure.
 */
export async function peek(source: AsyncIterable<Uint8Array>, n: number, enough: (head: Uint8Array) => boolean = () => false): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  let failure: { err: unknown } | undefined;
  try {
    while (size < n && !enough(Buffer.concat(chunks))) {
      const r = await iterator.next();
      if (r.done) {
        ended = true;
        break;
      }
      // stdin yields Buffers; a stream with an encoding set would yield strings: bytes either way.
      const value = r.value as Uint8Array | string;
      const chunk = typeof value === 'string' ? Buffer.from(value) : value;
      chunks.push(chunk);
      size += chunk.byteLength;
    }
  } catch (err) {
    failure = { err };
  }
  const head = Buffer.concat(chunks).subarray(0, n);
  async function* all(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* chunks;
      if (failure) throw failure.err;
      if (ended) return;
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        const value = r.value as Uint8Array | string;
        yield typeof value === 'string' ? Buffer.from(value) : value;
      }
    } finally {
      // An upload stopped early (refused, Ctrl-C) lets go of the source too.
      if (!ended && !failure) await iterator.return?.();
    }
  }
  return { head, stream: all() };
}
