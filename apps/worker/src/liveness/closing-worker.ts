/**
 * Closing a BullMQ Worker whose Redis may be away. `Worker.close()` disconnects its blocking
 * connection and waits for ioredis's `end`, which a connection between two reconnect attempts
 * never emits (ioredis clears the retry timer, and no socket is left to close): a worker told to
 * stop while Redis was away for a few seconds never exited, even once Redis was back (an upgrade
 * audit: alive 5 minutes later, counted as a worker by the API). So a Worker is closed once its
 * blocking connection is not between attempts: connected again, or trying to connect (a close
 * then ends its socket, and `end` comes). Redis away for good is the drain guard's to end
 * (WORKER_DRAIN_REDIS_WAIT_MS).
 */
import type { Worker } from 'bullmq';

/** How often a close waiting for the blocking connection looks at it again. */
const LOOK_MS = 50;

interface BlockingClient {
  status: string;
}

/**
 * Closes `worker` (as `Worker.close()`), putting the close off while its blocking connection is
 * between reconnect attempts. It is paused first, so it fetches nothing more meanwhile (close is
 * what stops BullMQ's fetch loop, and a worker that took jobs as Redis came back would drain
 * past its grace).
 */
export async function closeWorker(worker: Worker): Promise<void> {
  await worker.pause(true);
  const client = await blockingClientOf(worker);
  while (client?.status === 'reconnecting') await sleep(LOOK_MS);
  await worker.close();
}

/**
 * BullMQ's blocking connection of `worker` (as batching/blocking-fetch.ts reads it), if it has
 * one; none if it has not connected within LOOK_MS (BullMQ hands it over once connected, which
 * a connection that never was may never be: its close then ends it as before).
 */
async function blockingClientOf(worker: Worker): Promise<BlockingClient | undefined> {
  const backend = (worker as unknown as { backend?: { queue?: { blockingClient?: Promise<BlockingClient> } } }).backend;
  const client = backend?.queue?.blockingClient?.catch(() => undefined);
  return client && Promise.race([client, sleep(LOOK_MS).then(() => undefined)]);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
