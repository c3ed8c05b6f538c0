/**
 * Entry point of a session-check thread: creates one onnxruntime session from a model file on
 * the CPU, answers with its input and output names (or why it failed), releases it and ends.
 * A thread because creating a session is a synchronous native call that may take seconds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { SessionCheckReply } from './session-check.js';

if (!parentPort) throw new Error('session-check-thread must run in a worker thread');
const port = parentPort;
ort.env.logLevel = 'fatal';
const { path } = workerData as { path: string };
try {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
  const reply: SessionCheckReply = { ok: true, inputs: [...session.inputNames], outputs: [...session.outputNames] };
  await session.release();
  port.postMessage(reply);
} catch (err) {
  port.postMessage({ ok: false, message: (err as Error).message.split('\n')[0] ?? String(err) } satisfies SessionCheckReply);
}
