/**
 * CompletionEvents: hears BullMQ's own completion events, so a request waiting for a job it
 * just created answers one hop after the worker completed the job instead of two.
 *
 * BullMQ's completion script stores a job's result and adds a `completed` event with that
 * result to the queue's events stream in one atomic step. The worker's announcement
 * (job-announcer.ts) leaves only once the worker has BullMQ's reply, and then crosses Redis
 * again; an XREAD blocked on the stream is woken by the script itself. Each watched queue has
 * one loop with a blocking connection of its own (on Redis Cluster a queue's keys share one
 * hash slot, so one stream per call is always legal).
 *
 * Only versions with small results are watched (`smallResults`). Events are hints, like announcements: a loop starts at the stream's last entry, so an event
 * from before it started, or one trimmed away while Redis was unreachable, costs a waiter the
 * announcement's later wake-up or its own re-read, never a wrong answer. Results are kept as
 * the stream carries them (JSON text) and parsed only for a waiter that asks.
 */
import type { Redis } from 'ioredis';
import { DATATYPE_INFO, type Logger, type ModelVersion } from '@maas/shared';
import type { JobNotifier } from './notifier.js';

/** Output bytes per row up to which a version's completion events are read (see `smallResults`). */
export const SMALL_RESULT_ROW_BYTES = 256;

/** How long one XREAD blocks before the loop looks again (and can see it was closed). */
const BLOCK_MS = 5000;
const RETRY_MS = 1000;

/** One entry of BullMQ's events stream, as XREAD returns it: [id, [field, value, …]]. */
type StreamEntry = [string, string[]];

export interface CompletionEvent {
  jobId: string;
  /** 'completed' carries BullMQ's stored result (JSON text); 'failed' only says the job ended */
  event: 'completed' | 'failed';
  returnvalue?: string;
}

/**
 * PURE: whether a version's results are small enough for every API process to read all of
 * them from the events stream: fixed output shapes of at most SMALL_RESULT_ROW_BYTES per row
 * (classifiers, regressors, small embeddings: the models where a millisecond matters). A
 * stream read cannot leave out a field, and larger results, read by every API process for
 * every job, would cost more than the hop they save; their waiters use the announcement.
 */
export function smallResults(version: Pick<ModelVersion, 'outputs'>): boolean {
  let bytes = 0;
  for (const o of version.outputs) {
    const per = DATATYPE_INFO[o.datatype].bytes;
    const dims = o.shape.slice(1);
    if (per === 0 || dims.some((d) => d < 0)) return false;
    bytes += per * dims.reduce((n, d) => n * d, 1);
  }
  return bytes <= SMALL_RESULT_ROW_BYTES;
}

/** PURE: the completion events among stream entries (BullMQ also streams added, active, …). */
export function completionEvents(entries: readonly StreamEntry[]): CompletionEvent[] {
  const out: CompletionEvent[] = [];
  for (const [, fields] of entries) {
    let event: string | undefined;
    let jobId: string | undefined;
    let returnvalue: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const f = fields[i];
      if (f === 'event') event = fields[i + 1];
      else if (f === 'jobId') jobId = fields[i + 1];
      else if (f === 'returnvalue') returnvalue = fields[i + 1];
    }
    if (!jobId) continue;
    if (event === 'completed') out.push({ jobId, event, ...(returnvalue !== undefined ? { returnvalue } : {}) });
    else if (event === 'failed') out.push({ jobId, event });
  }
  return out;
}

interface Loop {
  connection?: Redis;
  done: Promise<void>;
}

export class CompletionEvents {
  private readonly loops = new Map<string, Loop>();
  private closed = false;

  /** `connect(name)`: a new connection for a blocking loop (commands wait through reconnects). */
  constructor(
    private readonly connect: (name: string) => Promise<Redis>,
    private readonly notifier: JobNotifier,
    private readonly log: Logger,
  ) {}

  /** Starts hearing the completions of the queue whose events stream is `eventsKey` (once). */
  watch(eventsKey: string): void {
    if (this.closed || this.loops.has(eventsKey)) return;
    const loop: Loop = { done: Promise.resolve() };
    this.loops.set(eventsKey, loop);
    loop.done = this.run(eventsKey, loop);
  }

  get watching(): number {
    return this.loops.size;
  }

  private async run(key: string, loop: Loop): Promise<void> {
    let last: string | undefined;
    while (!this.closed) {
      try {
        loop.connection ??= await this.connect(`api:completions:${key}`);
        if (this.closed) {
          loop.connection.disconnect();
          break;
        }
        // Start after the stream's last entry ('0-0' for a stream not made yet): never '$'
        // between two reads, which would skip what came between them.
        last ??= (await loop.connection.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
        const reply = (await loop.connection.xread('BLOCK', BLOCK_MS, 'STREAMS', key, last)) as [string, StreamEntry[]][] | null;
        let woke = false;
        for (const [, entries] of reply ?? []) {
          if (entries.length > 0) last = entries[entries.length - 1]![0];
          for (const e of completionEvents(entries)) {
            woke = true;
            if (e.event === 'completed' && e.returnvalue !== undefined) this.notifier.completed(e.jobId, e.returnvalue);
            else this.notifier.wake(e.jobId);
          }
        }
        // The woken waiters answer first: the next XREAD's socket write (60-150 µs here, as it
        // wakes Redis) would otherwise go out before their responses.
        if (woke) await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        if (this.closed) break;
        this.log.warn({ err, stream: key }, 'reading completion events failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const loop of this.loops.values()) loop.connection?.disconnect();
    await Promise.all([...this.loops.values()].map((l) => l.done));
  }
}
