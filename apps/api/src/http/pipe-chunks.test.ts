import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeChunks } from './pipe-chunks.js';

/** A writable whose buffer fills at once and that drains only when `drain()` is called. */
function slowSink() {
  const got: Buffer[] = [];
  let release: (() => void) | undefined;
  const sink = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, done) {
      got.push(chunk);
      release = done;
    },
  });
  return { sink, got, drain: () => release?.() };
}

async function* pieces(n: number) {
  for (let i = 0; i < n; i++) yield Buffer.from(`piece ${i};`);
}

describe('pipeChunks', () => {
  it('writes every piece when the reader keeps reading', async () => {
    const { sink, got, drain } = slowSink();
    const timer = setInterval(drain, 1);
    try {
      expect(await pipeChunks(sink, pieces(5), 1000)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(Buffer.concat(got).toString()).toBe('piece 0;piece 1;piece 2;piece 3;piece 4;');
  });

  it('gives a slow reader that keeps taking bytes its time', async () => {
    // Three pieces buffered before a drain is awaited, each taken 30 ms after the one before:
    // a drain comes 90 ms on, past a stall of 50 ms, but bytes left the buffer meanwhile.
    const sink = new Writable({ highWaterMark: 20, write: (_chunk: Buffer, _enc, done) => void setTimeout(done, 30) });
    expect(await pipeChunks(sink, pieces(6), 50)).toBe(true);
    expect(sink.destroyed).toBe(false);
  });

  it('destroys the response and stops when its reader takes nothing for stalledMs', async () => {
    const { sink, got } = slowSink();
    const started = Date.now();
    expect(await pipeChunks(sink, pieces(5), 50)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(sink.destroyed).toBe(true);
    expect(got).toHaveLength(1);
  });
});
