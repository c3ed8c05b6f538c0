/**
 * PURE: which workers count as dead, from their liveness entries (worker id → the Redis time,
 * in ms, at which its last beat expires). See alive-beat.ts and sweeper.ts.
 */

export interface Verdict {
  /** beats expired: their jobs may be released */
  dead: string[];
  /**
   * expired for longer than `forgetAfterMs`: their entries can go. By then the BullMQ locks they
   * held have expired too (forgetAfterMs ≥ the lock duration), so BullMQ's own stall check
   * recovers whatever is left, and sweepers stop scanning the queues for them.
   */
  forget: string[];
}

export function deadWorkers(entries: readonly (readonly [id: string, expiresAt: number])[], nowMs: number, forgetAfterMs: number): Verdict {
  const dead: string[] = [];
  const forget: string[] = [];
  for (const [id, expiresAt] of entries) {
    if (expiresAt >= nowMs) continue;
    if (nowMs - expiresAt > forgetAfterMs) forget.push(id);
    else dead.push(id);
  }
  return { dead, forget };
}

/** ZRANGE … WITHSCORES reply → entries. */
export function parseEntries(reply: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([reply[i]!, Number(reply[i + 1])]);
  return out;
}

/**
 * PURE: whether this worker's own link to Redis has been steady long enough to judge others:
 * a whole TTL since its last interruption (a round trip that failed or came late, at
 * `interruptedAt`). A Redis that stalls (a restart, a pause, a fork, out of memory) stops every
 * worker's beats at once, so afterwards every entry but the judge's reads expired although
 * their workers are alive; after a TTL of steady beating they have all beaten again.
 */
export const linkSteady = (interruptedAt: number, nowMs: number, ttlMs: number): boolean => nowMs - interruptedAt >= ttlMs;
