import { describe, expect, it } from 'vitest';
import { canceledMarker, succeededMarker, tensorOf, tensorRecord, type ChunkLine } from '@maas/shared';
import { storedLines } from './chunk-lines.js';
import { RenderPool } from './render-pool.js';
import { chunkResultPieces } from './results.js';

// The built thread: the test runs the TypeScript sources, a worker thread cannot.
const ENTRY = new URL('../../dist/batches/render-thread.js', import.meta.url);

/** A chunk of `n` compact lines of a two-output model, rows numbered from `first`. */
function chunk(first: number, n: number) {
  const lines: ChunkLine[] = Array.from({ length: n }, (_, i) => [`id-${first + i}`, 1, 1]);
  const outputs = [
    tensorOf('label', 'INT64', [n], Array.from({ length: n }, (_, i) => first + i)),
    tensorOf('probabilities', 'FP32', [n, 2], Array.from({ length: 2 * n }, (_, i) => (first + i) / 1024)),
  ];
  return { lines, outputs, stored: { lines: storedLines(lines), marker: succeededMarker(n), outputs: tensorRecord(outputs) } };
}

const joined = (pieces: Uint8Array[]) => Buffer.concat(pieces).toString('utf8');

describe('RenderPool', () => {
  it('renders chunks on its threads byte for byte as chunkResultPieces does, each reply its own chunk', async () => {
    const pool = new RenderPool(2, ENTRY);
    try {
      // Sizes around a piece (256 KB) and a pooled buffer (4 KB), all in flight at once.
      const chunks = [1, 7, 3000, 9000, 40, 5000].map((n, k) => chunk(k * 10_000, n));
      const rendered = await Promise.all(chunks.map((c) => pool.render(c.stored)));
      chunks.forEach((c, k) => {
        expect(joined(rendered[k]!)).toBe(Buffer.concat([...chunkResultPieces(c.lines, succeededMarker(c.lines.length), c.outputs)]).toString('utf8'));
      });
      expect(rendered[3]!.length).toBeGreaterThan(1); // a large chunk comes in pieces
    } finally {
      await pool.close();
    }
  });

  it('renders lines that did not run (no outputs), and a missing line list as no lines', async () => {
    const pool = new RenderPool(1, ENTRY);
    try {
      const c = chunk(0, 3);
      const canceled = joined(await pool.render({ lines: c.stored.lines, marker: canceledMarker(3), outputs: null }));
      expect(canceled.trim().split('\n').map((l) => (JSON.parse(l) as { error: { type: string } }).error.type)).toEqual(['canceled', 'canceled', 'canceled']);
      expect(joined(await pool.render({ lines: null, marker: succeededMarker(0), outputs: null }))).toBe('');
    } finally {
      await pool.close();
    }
  });

  it('fails a chunk whose record cannot be read, and goes on rendering the next', async () => {
    const pool = new RenderPool(1, ENTRY);
    try {
      const c = chunk(0, 2);
      await expect(pool.render({ ...c.stored, outputs: Buffer.from('not a record') })).rejects.toThrow(/rendering a chunk's results failed: not a tensor record/);
      expect(joined(await pool.render(c.stored))).toContain('"custom_id":"id-1"');
    } finally {
      await pool.close();
    }
  });

  it('fails the chunks in flight when it closes, and refuses new ones', async () => {
    const pool = new RenderPool(1, ENTRY);
    const inFlight = pool.render(chunk(0, 100_000).stored);
    await pool.close();
    await expect(inFlight).rejects.toThrow(/exited/);
    await expect(pool.render(chunk(0, 1).stored)).rejects.toThrow(/closed/);
  });

  it('replaces a thread that exited', async () => {
    const pool = new RenderPool(1, ENTRY);
    try {
      const c = chunk(0, 4);
      await pool.render(c.stored);
      // A thread lost as a native crash would lose it: through its own handle.
      const [thread] = (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads;
      const lost = pool.render(chunk(0, 100_000).stored);
      await thread!.worker.terminate();
      await expect(lost).rejects.toThrow(/exited/);
      expect(joined(await pool.render(c.stored))).toContain('"custom_id":"id-3"');
    } finally {
      await pool.close();
    }
  });
});
