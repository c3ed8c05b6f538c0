/**
 * Entry point of a session thread: owns one onnxruntime InferenceSession and runs micro-batches (rows of many jobs a run).
 *
 * `session.run` is a synchronous native call that holds its thread for the whole run, so it
 * must not share a thread with BullMQ's lock renewals and Redis traffic. Here it does not:
 * the main thread keeps fetching and completing jobs while this one computes.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { fromOrt, toOrt } from './ort-tensors.js';
import { rejectedByRows } from './run-rejected.js';
import { warmUp } from './warm-up.js';
import type { FromThread, SessionInit, ToThread, WireTensor } from './protocol.js';

if (!parentPort) throw new Error('session-thread must run in a worker thread');
const port = parentPort;
let session: ort.InferenceSession | undefined;
/** TEST HOOK (SessionInit.exitOnRun): a thread cannot be killed from outside the process. */
let exitOnRun = 0;
let runs = 0;
/** the runs handed to this thread, chained (run() never rejects) */
let queue: Promise<void> = Promise.resolve();
/** asked to close: runs still queued are refused instead of started */
let closing = false;

const send = (msg: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

async function open(init: SessionInit): Promise<void> {
  // Errors are reported by us with context; ORT would also print native errors to stderr.
  ort.env.logLevel = 'fatal';
  const supported = new Set(ort.listSupportedBackends().map((b) => b.name));
  const failures: string[] = [];
  for (const provider of init.providers) {
    if (!supported.has(provider)) {
      failures.push(`${provider}: not available in this onnxruntime-node build`);
      continue;
    }
    try {
      session = await ort.InferenceSession.create(init.path, {
        executionProviders: [provider],
        intraOpNumThreads: init.intraOpNumThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        // ORT's idle intra-op threads spin by default: fine on a dedicated box, but here they
        // would take CPU from the API, Redis and this worker's own Redis traffic.
        extra: { session: { intra_op: { allow_spinning: init.spinning ? '1' : '0' }, inter_op: { allow_spinning: init.spinning ? '1' : '0' } } },
      });
      // Warmed before it reports ready: the pool gives it no run until then.
      const warmup = await warmUp(session, init.warmup);
      send({ kind: 'ready', provider, warmup, ...(failures.length ? { fallbackReason: failures.join('; ') } : {}) });
      return;
    } catch (err) {
      failures.push(`${provider}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  send({ kind: 'init-failed', message: failures.join('; ') || 'no execution provider configured' });
}

async function run(id: number, feeds: WireTensor[]): Promise<void> {
  if (!session || closing) {
    send({ kind: 'run-failed', id, message: closing ? 'session closing' : 'session not loaded' });
    return;
  }
  // Only session.run's own failure may be the rows' (run-rejected.ts): never the feeds' assembly.
  let running = false;
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const f of feeds) input[f.name] = toOrt(f);
    const t0 = performance.now();
    running = true;
    const result = await session.run(input);
    const ms = performance.now() - t0;
    running = false;
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of session.outputNames) {
      const o = fromOrt(name, result[name]!);
      outputs.push(o.tensor);
      transfer.push(...o.transfer);
    }
    // The outputs are copies, so the feeds' memory is free: back to the pool it came from.
    const spent: ArrayBuffer[] = [];
    for (const f of feeds) if (f.bytes && f.bytes.byteLength > 0) spent.push(f.bytes);
    send({ kind: 'result', id, outputs, ms, spent }, [...transfer, ...spent]);
  } catch (err) {
    const message = (err as Error).message;
    send({ kind: 'run-failed', id, message, ...(running && rejectedByRows(message) ? { rejected: true } : {}) });
  }
}

port.on('message', (msg: ToThread) => {
  if (msg.kind === 'init') {
    if (!msg.init.replacement) exitOnRun = msg.init.exitOnRun ?? 0;
    void open(msg.init);
  } else if (msg.kind === 'run') {
    if (++runs === exitOnRun) process.exit(70);
    // One run at a time, in arrival order: a run queued behind another (a full run handed out
    // ahead) starts when that one ends, and its time is its own.
    const { id, feeds } = msg;
    queue = queue.then(() => run(id, feeds));
  }
  else {
    closing = true;
    void (session?.release() ?? Promise.resolve()).finally(() => {
      send({ kind: 'closed' });
      port.close();
    });
  }
});
