/**
 * Entry point of a result-rendering thread (render-pool.ts): turns one chunk's stored lines,
 * outcome and output record into its NDJSON result lines, off the API's main thread.
 */
import { parentPort } from 'node:worker_threads';
import { readTensorRecord } from '@maas/shared/records';
import { readLines } from './chunk-lines.js';
import type { RenderReply, RenderRequest } from './render-pool.js';
import { chunkResultPieces } from './results.js';

if (!parentPort) throw new Error('render-thread must run in a worker thread');
const port = parentPort;

/** Smaller buffers may be slices of Node's shared pool, which must not be transferred. */
const POOLED_BELOW = 4096;

port.on('message', ({ id, lines, marker, outputs }: RenderRequest) => {
  try {
    const record = outputs ? readTensorRecord(Buffer.from(outputs.buffer, outputs.byteOffset, outputs.byteLength)) : [];
    const pieces: Uint8Array[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const piece of chunkResultPieces(readLines(lines), marker, record)) {
      const own = piece.buffer.byteLength >= POOLED_BELOW ? piece : Uint8Array.from(piece);
      pieces.push(own);
      transfer.push(own.buffer as ArrayBuffer);
    }
    port.postMessage({ id, pieces } satisfies RenderReply, transfer);
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message } satisfies RenderReply);
  }
});
