/**
 * NDJSON (one JSON value a line) in both directions, streamed.
 *
 * Batches can hold millions of lines, so neither direction ever holds the whole body: results
 * are split into lines as the bytes arrive, and request bodies are produced line by line as the
 * socket asks for more (a ReadableStream's `pull` only runs when its consumer wants data, which
 * is the backpressure that keeps memory flat).
 */
import { MaasProtocolError } from './errors.js';
import { parseJson, stringifyJson } from './json.js';

/**
 * Bytes (or text) in chunks cut anywhere → lines without their terminator. Handles `\n` and
 * `\r\n` (also when a chunk ends between the two), UTF-8 characters split across chunks, and a
 * last line without a newline. Empty lines are yielded as `''`.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  // The unfinished line, kept in pieces: joining only when it ends keeps a long line that
  // arrives in many chunks linear rather than quadratic.
  let pieces: string[] = [];
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      const tail = text.slice(start, nl);
      const line = pieces.length ? pieces.join('') + tail : tail;
      pieces = [];
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
      start = nl + 1;
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
  const rest = pieces.join('') + decoder.decode();
  if (rest) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/**
 * Lines → parsed JSON values. Blank lines are skipped; a line that is not JSON throws a
 * `MaasProtocolError` naming its line number (a truncated or corrupted download).
 */
export async function* parseNdjson<T = unknown>(lines: AsyncIterable<string>): AsyncGenerator<T, void, undefined> {
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    try {
      yield parseJson(line) as T;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new MaasProtocolError(`NDJSON line ${n} is not JSON: ${err.message} (${line.slice(0, 80)})`, { cause: err });
    }
  }
}

/**
 * Something that yields request lines: JSON-able objects or already serialised strings; or
 * NDJSON as bytes (chunks cut anywhere: `fs.createReadStream(path)`, `process.stdin`), sent as
 * they are.
 */
export type LineSource<T = unknown> = AsyncIterable<T | string> | Iterable<T | string> | AsyncIterable<Uint8Array>;

/** One request line: objects are serialised, strings are checked to be exactly one line. */
export function toNdjsonLine(value: unknown): string {
  if (typeof value === 'string') {
    const line = value.endsWith('\r\n') ? value.slice(0, -2) : value.endsWith('\n') ? value.slice(0, -1) : value;
    // A raw newline inside would silently turn one request into two lines.
    if (/[\r\n]/.test(line)) {
      throw new TypeError(`an NDJSON line must not contain a line break: ${JSON.stringify(line.slice(0, 80))} (a stream of text? read it as bytes, without an encoding, and it is sent as NDJSON)`);
    }
    return line;
  }
  const json = stringifyJson(value);
  if (json === undefined) throw new TypeError(`cannot serialise a ${typeof value} as an NDJSON line`);
  return json;
}

export interface EncodeProgress {
  lines: number;
  bytes: number;
}

export interface EncodeOptions {
  /** bytes gathered before a chunk is handed to the socket; default 64 KiB */
  chunkBytes?: number;
  onProgress?: (p: EncodeProgress) => void;
}

/**
 * A lazily produced NDJSON body. `failure` holds an error the source threw while the body was
 * being sent, so the caller can report that instead of the aborted request it caused.
 */
export interface NdjsonBody {
  stream: ReadableStream<Uint8Array>;
  readonly failure: unknown;
  readonly progress: EncodeProgress;
}

export function encodeNdjson(source: LineSource, opts: EncodeOptions = {}): NdjsonBody {
  if (typeof source === 'string') throw new TypeError('lines must be an iterable of lines, not a string (for a file use ndjsonFile(path))');
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const iterator = iteratorOf(source);
  const encoder = new TextEncoder();
  const progress: EncodeProgress = { lines: 0, bytes: 0 };
  // A `next()` still pending when a chunk was sent: the following pull starts with it.
  let pending: Promise<IteratorResult<unknown>> | undefined;
  /** what the source yields, once its first item is seen: lines, or NDJSON bytes */
  let form: 'lines' | 'bytes' | undefined;
  const body: { stream: ReadableStream<Uint8Array>; failure: unknown; progress: EncodeProgress } = {
    failure: undefined,
    progress,
    stream: new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          // Gather lines up to ~chunkBytes (one write per line would cost more than the JSON),
          // but never hold gathered lines while the source waits on I/O: a slow source (a
          // database cursor, a socket) still has its lines sent as they come.
          const parts: string[] = [];
          const raw: Uint8Array[] = [];
          let size = 0;
          let done = false;
          let turn: Promise<typeof SLOW> | undefined;
          let cancelTurn: (() => void) | undefined;
          try {
            while (size < chunkBytes) {
              let next: IteratorResult<unknown> | Promise<IteratorResult<unknown>> = pending ?? iterator.next();
              pending = undefined;
              if (next instanceof Promise && parts.length) {
                // Lines an async source has ready arrive within the current event-loop turn.
                turn ??= new Promise((resolve) => (cancelTurn = afterThisTurn(() => resolve(SLOW))));
                const raced = await Promise.race([next, turn]);
                if (raced === SLOW) {
                  pending = next;
                  pending.catch(() => undefined); // awaited (and rethrown) by the next pull
                  break;
                }
                next = raced;
              }
              const r = await next;
              if (r.done) {
                done = true;
                break;
              }
              // Bytes (a file's or stdin's chunks) are NDJSON already: sent as they are. Each
              // chunk read as a line had sent one `{"type":"Buffer",…}` line a chunk, the rows lost.
              if (r.value instanceof Uint8Array) {
                if (form === 'lines') throw new TypeError('lines yielded bytes after lines: a source is either NDJSON bytes or lines');
                form = 'bytes';
                raw.push(r.value);
                size += r.value.byteLength;
                for (const b of r.value) if (b === 0x0a) progress.lines++;
                continue;
              }
              if (form === 'bytes') throw new TypeError(`lines yielded a ${typeof r.value} after bytes: a source is either NDJSON bytes or lines`);
              form = 'lines';
              let line: string;
              try {
                line = toNdjsonLine(r.value);
              } catch (err) {
                // Which line, counted from 1 as the server's errors count them: in a file of millions, a path alone is no help.
                throw err instanceof TypeError ? new TypeError(`line ${progress.lines + 1}: ${err.message}`, { cause: err }) : err;
              }
              parts.push(line, '\n');
              size += line.length + 1;
              progress.lines++;
            }
          } catch (err) {
            body.failure = err;
            controller.error(err);
            return;
          } finally {
            // Drop the turn marker: a CPU-bound source never lets it fire, and a queued one
            // would keep every race's reaction alive.
            cancelTurn?.();
          }
          if (raw.length) {
            for (const bytes of raw) {
              progress.bytes += bytes.byteLength;
              controller.enqueue(bytes);
            }
            opts.onProgress?.({ ...progress });
          }
          if (parts.length) {
            const bytes = encoder.encode(parts.join(''));
            progress.bytes += bytes.byteLength;
            controller.enqueue(bytes);
            opts.onProgress?.({ ...progress });
          }
          if (done) controller.close();
        },
        async cancel(reason) {
          await iterator.return?.(reason);
        },
      },
      { highWaterMark: 1 },
    ),
  };
  return body;
}

const SLOW = Symbol('slow');

/**
 * Raw byte chunks (a file) → a request body stream, counting bytes as the socket takes them.
 */
export function byteStream(source: AsyncIterable<Uint8Array>, onBytes?: (total: number) => void): NdjsonBody {
  const iterator = source[Symbol.asyncIterator]();
  const progress: EncodeProgress = { lines: 0, bytes: 0 };
  const body: { stream: ReadableStream<Uint8Array>; failure: unknown; progress: EncodeProgress } = {
    failure: undefined,
    progress,
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await iterator.next();
          if (r.done) {
            controller.close();
            return;
          }
          progress.bytes += r.value.byteLength;
          controller.enqueue(r.value);
          onBytes?.(progress.bytes);
        } catch (err) {
          body.failure = err;
          controller.error(err);
        }
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    }),
  };
  return body;
}

function iteratorOf<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  if (Symbol.iterator in source) return source[Symbol.iterator]();
  throw new TypeError('lines must be an iterable or async iterable');
}

/** A web ReadableStream's chunks as an async iterable that cancels the stream when left early. */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    // Leaving a `for await` early (break, an exception) must free the connection.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * Runs `fn` once the current event-loop turn's I/O is done (Node's setImmediate; a browser,
 * which has none, a zero timeout); returns what cancels it.
 */
function afterThisTurn(fn: () => void): () => void {
  if (typeof setImmediate === 'function') {
    const handle = setImmediate(fn);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(fn, 0);
  return () => clearTimeout(handle);
}
