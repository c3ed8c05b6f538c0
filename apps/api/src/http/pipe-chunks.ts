/**
 * Writes an async iterable of strings or bytes to a response, waiting for 'drain'
 * (backpressure). Returns false as soon as the response is closed (the client went away):
 * the source is then returned (its read-ahead let go) instead of waiting for a 'drain' that
 * never comes. The event loop runs between two pieces: a socket that takes every write at
 * once (a fast client on loopback) never asks for a 'drain', and the pieces would otherwise
 * follow one another in microtasks, holding up every other request until the last one.
 * One listener of each event serves the whole answer: while the answer is compressed
 * (http/compress.ts) 'drain' listeners go to the encoder, where `off` on the response cannot
 * reach them, so none is added a piece. A response whose client takes no byte for `stalledMs`
 * (IDLE_TIMEOUT_S) is destroyed.
 */
export async function pipeChunks(
  out: NodeJS.WritableStream & { destroyed?: boolean; destroy(): void; writableLength?: number },
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
 * Resolves true on 'drain', false on close, or once `stalledMs` pass in which the client took
 * no byte of what is buffered (`writableLength` did not shrink): then the response is destroyed
 * (a client that stopped reading would otherwise hold its connection and the answer's buffered
 * bytes for ever; Node's idle timeout does not end it). A slow reader that keeps reading is
 * given its time.
 */
function drained(out: { destroy(): void; writableLength?: number }, stalledMs: number, arm: (resolve: (ok: boolean) => void) => void): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const watch = (buffered: number | undefined) => {
      timer = setTimeout(() => {
        const now = out.writableLength;
        if (now !== undefined && buffered !== undefined && now < buffered) return watch(now);
        out.destroy();
        resolve(false);
      }, stalledMs);
      timer.unref();
    };
    if (Number.isFinite(stalledMs)) watch(out.writableLength);
    arm((ok) => {
      clearTimeout(timer);
      resolve(ok);
    });
  });
}
