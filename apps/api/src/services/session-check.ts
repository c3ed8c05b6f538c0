/**
 * The API's check of a model version found on disk after start-up, before it is served: an
 * onnxruntime session is created from the file (in a short-lived thread, on the CPU) and its
 * input and output names must be those the metadata read gave. A file that parses as ONNX but
 * that onnxruntime refuses (an unknown operator, a truncated weight) is caught here, so the
 * API never routes requests to a version no worker could run. Workers make their own check
 * when they open the version (a provider of theirs may still fail: they keep serving the
 * previous version, see the worker's live-models.ts).
 */
import { Worker } from 'node:worker_threads';
import type { ModelVersion } from '@maas/shared';

export type SessionCheckReply = { ok: true; inputs: string[]; outputs: string[] } | { ok: false; message: string };

/** PURE: why a session's names disagree with the metadata read, or undefined when they agree. */
export function namesMismatch(version: Pick<ModelVersion, 'inputs' | 'outputs'>, reply: { inputs: string[]; outputs: string[] }): string | undefined {
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const inputs = version.inputs.map((t) => t.name);
  const outputs = version.outputs.map((t) => t.name);
  if (!same(inputs, reply.inputs)) return `onnxruntime sees inputs [${reply.inputs.join(', ')}], the metadata [${inputs.join(', ')}]`;
  if (!same(outputs, reply.outputs)) return `onnxruntime sees outputs [${reply.outputs.join(', ')}], the metadata [${outputs.join(', ')}]`;
  return undefined;
}

/** Resolves when an onnxruntime session can be created from `version`; rejects with the reason. */
export async function checkSession(version: ModelVersion, timeoutMs = 120_000): Promise<void> {
  const thread = new Worker(new URL('./session-check-thread.js', import.meta.url), { workerData: { path: version.path } });
  try {
    const reply = await new Promise<SessionCheckReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`onnxruntime session not created within ${timeoutMs} ms`)), timeoutMs);
      thread.once('message', (m: SessionCheckReply) => (clearTimeout(timer), resolve(m)));
      thread.once('error', (err) => (clearTimeout(timer), reject(err)));
      thread.once('exit', (code) => (clearTimeout(timer), reject(new Error(`session check thread exited (${code})`))));
    });
    if (!reply.ok) throw new Error(`onnxruntime session cannot be created: ${reply.message}`);
    const mismatch = namesMismatch(version, reply);
    if (mismatch) throw new Error(mismatch);
  } finally {
    await thread.terminate();
  }
}
