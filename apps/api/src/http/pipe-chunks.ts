/**
 * Writes an async iterable of strings or bytes to a response, waiting for 'drain'
 * (backpressure). Returns false as soon as the response is closed (the client went away):
 * the source is then returned (its read-ahead let go) instead of waiting for a 'drain' that
 * never comes. The event loop runs between two pieces: a socket that takes every write at
 * once (a fast client on loopback) never asks for a 'drain', and the pieces would otherwise
 * follow one another in microtasks, holding up every other request until the last one.
 * One listener of each event serves the whole answer: while the answer is compressed
 * (http/compress.ts) 'drain' listeners go to the encoder, where `off` on the response cannot
 * reach them, so none is added a piece.
 */
export async function pipeChunks(out: NodeJS.WritableStream & { destroyed?: boolean }, source: AsyncIterable<string | Uint8Array>): Promise<boolean> {
  let wake: ((ok: boolean) => void) | undefined;
  const onDrain = () => wake?.(true);
  const onClose = () => wake?.(false);
  out.on('drain', onDrain);
  out.on('close', onClose);
  out.on('error', onClose);
  try {
    for await (const s of source) {
      if (out.destroyed) return false;
      if (!out.write(s)) {
        if (out.destroyed || !(await new Promise<boolean>((resolve) => (wake = resolve)))) return false;
        wake = undefined;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return true;
  } finally {
    wake = undefined;
    out.off('drain', onDrain);
    out.off('close', onClose);
    out.off('error', onClose);
  }
}
