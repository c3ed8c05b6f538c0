/**
 * Entry point of a session-check thread: for each model file path it is sent, creates one
 * onnxruntime session from it on the CPU, answers with its input and output names (or why it
 * failed) and releases it; one path at a time. The API ends the thread when it is idle.
 * A thread because creating a session is a synchronous native call that may take seconds.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { SessionCheckReply } from './session-check.js';

if (!parentPort) throw new Error('session-check-thread must run in a worker thread');
const port = parentPort;
ort.env.logLevel = 'fatal';

async function check(path: string): Promise<SessionCheckReply> {
  try {
    const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
    const reply: SessionCheckReply = { ok: true, inputs: [...session.inputNames], outputs: [...session.outputNames] };
    await session.release();
    return reply;
  } catch (err) {
    return { ok: false, message: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

port.on('message', (path: string) => {
  void check(path).then((reply) => port.postMessage(reply));
});
