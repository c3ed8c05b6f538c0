import { describe, expect, it } from 'vitest';
import type { Worker } from 'bullmq';
import { closeWorker } from './closing-worker.js';

/** What closeWorker touches of a BullMQ Worker: pause, close, and its blocking connection. */
function fakeWorker(blockingClient: Promise<{ status: string }>) {
  const calls: string[] = [];
  const worker = {
    backend: { queue: { blockingClient } },
    pause: async () => void calls.push('pause'),
    close: async () => void calls.push('close'),
  };
  return { worker: worker as unknown as Worker, calls };
}

describe('closeWorker', () => {
  it('pauses at once, and closes only once the blocking connection is no longer between reconnect attempts', async () => {
    const client = { status: 'reconnecting' };
    const { worker, calls } = fakeWorker(Promise.resolve(client));
    const closing = closeWorker(worker);
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toEqual(['pause']); // no fetch meanwhile, no close that would wait for an 'end' never sent
    client.status = 'ready';
    await closing;
    expect(calls).toEqual(['pause', 'close']);
  });

  it('closes at once when connected, and when the connection never connected (no wait on it)', async () => {
    const ready = fakeWorker(Promise.resolve({ status: 'ready' }));
    await closeWorker(ready.worker);
    expect(ready.calls).toEqual(['pause', 'close']);
    const never = fakeWorker(new Promise(() => {}));
    await closeWorker(never.worker);
    expect(never.calls).toEqual(['pause', 'close']);
  });
});
