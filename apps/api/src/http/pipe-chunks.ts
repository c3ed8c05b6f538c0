/**
 * Writes an async iterable of strings or bytes to a response, waiting for 'drain'
 * (backpressure). Returns false as soon as the response is closed (the client went away):
 * the source is then returned (its read-ahead let go) instead of waiting for a 'drain' that
 * never comes. The event loop runs between two pieces: a socket that takes every write at
 * once (a fast client on loopback) never asks for a 'drain', and the pieces would otherwise
 * follow one another in microtasks, holding up every other request until the last one.
 * One listener of each event serves the whole answer: while the answer is compressed
 * (http/compress.ts) 'drain' listeners go to the encoder, where `off` on the response cannot
 * reach them, so none is added a piece. A response whose client takes nothing for `stalledMs`
 * (IDLE_TIMEOUT_S) is destroyed.
 */
export async function pipeChunks(
  out: NodeJS.WritableStream & { destroyed?: boolean; destroy(): void },
  source: AsyncIterable<string | Uint8Array>,
  stalledMs = Number.POSITIVE_INFINITY,
): Promise<boolean> {
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
        if (out.destroyed || !(await drained(out, stalledMs, (resolve) => (wake = resolve)))) return false;
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

/**
 * Resolves true on 'drain', false on close, or after `stalledMs` without a drain: then the
 * response is destroyed (a client that stopped reading would otherwise hold its connection and
 * the answer's buffered bytes for ever; Node's idle timeout does not end it).
 */
function drained(out: { destroy(): void }, stalledMs: number, arm: (resolve: (ok: boolean) => void) => void): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = Number.isFinite(stalledMs)
      ? setTimeout(() => {
          out.destroy();
          resolve(false);
        }, stalledMs)
      : undefined;
    timer?.unref();
    arm((ok) => {
      clearTimeout(timer);
      resolve(ok);
    });
  });
}
