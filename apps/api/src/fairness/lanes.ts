/**
 * PURE: fair shares of a model between tenants, as BullMQ priorities (start-time fair queueing).
 *
 * Why priorities and not one queue per tenant: BullMQ's open edition has no groups, and
 * per-tenant queues would need a worker that draws from them in turn, and teach queue depth,
 * metrics, the dashboard, Triton statistics, the KEDA metric, job lookup, cancel and the
 * liveness sweeper about lanes. A priority number is something every one of them already
 * handles: BullMQ hands out the lowest number first, equal numbers first come first served,
 * and the worker's batcher keeps that order (worker batching/queue-order.ts). So the API gives
 * each job in a *fair band* a BullMQ priority = the band's base + the tenant's turn, and
 * BullMQ's own order then draws from the tenants in turn.
 *
 * Turns (start-time fair queueing): each tenant has a lane per model version and band, with
 * the virtual time at which its last job finishes. A job's turn starts at
 * max(the model's virtual time, its lane's finish), and the lane moves on by the job's rows
 * over the band's quantum. The model's virtual time is the turn of the job at the head of the
 * band (the one BullMQ hands out next). A tenant that queued a million rows has its turns far
 * ahead; another tenant's job starts at the head's turn and so runs after at most one quantum
 * of rows per active tenant. Between a tenant's own jobs, order stays first come, first served.
 *
 * Bands: public priorities are 1..MAX_PRIORITY (10^6), BullMQ's at most 2^21, so not every
 * priority can get room for turns. The two bands almost every job uses do: DEFAULT_PRIORITY
 * (jobs that name none) and BATCH_PRIORITY (batch-file chunks). Each gets TURN_WIDTH numbers;
 * every other priority keeps one number, in the same order: a more urgent public priority
 * still runs first whatever the turns.
 *
 * Wrap-around: virtual time only grows while a band holds queued jobs; when the band is found
 * empty the lanes start again at 0. Turns past TURN_WIDTH - 1 are clamped there: the jobs
 * past it run first come, first served behind the rest (never ahead of older jobs, as a
 * wrapped number would). With quanta of one micro-batch (interactive) or one chunk (batch),
 * that takes a backlog of about 500,000 quanta that never drains (see README "Fair shares").
 */
import { DEFAULT_PRIORITY } from '@maas/shared';

/** Chunks of batch files run in this public priority's band, behind interactive jobs by default. */
export const BATCH_PRIORITY = 1000;

/** Bands where tenants take turns. */
export const FAIR_BANDS: readonly number[] = [DEFAULT_PRIORITY, BATCH_PRIORITY];

/** BullMQ numbers each fair band holds: turns 0 .. TURN_WIDTH - 1. */
export const TURN_WIDTH = 2 ** 19;

/** BullMQ's largest priority (its open edition rejects more). */
export const BULL_MAX_PRIORITY = 2 ** 21;

export const isFairBand = (priority: number): boolean => FAIR_BANDS.includes(priority);

/** The BullMQ priority of a public one at turn 0 (monotone: p < q ⇒ every turn of p < base(q)). */
export function bandBase(priority: number): number {
  let wider = 0;
  for (const b of FAIR_BANDS) if (b < priority) wider++;
  return priority + wider * (TURN_WIDTH - 1);
}

/** A job's BullMQ priority: its band's base plus its turn, a turn past the band's room clamped. */
export function bullPriority(priority: number, turn = 0): number {
  if (!isFairBand(priority)) return bandBase(priority);
  return bandBase(priority) + Math.min(Math.max(0, Math.floor(turn)), TURN_WIDTH - 1);
}

/** Rows one turn stands for: one micro-batch for interactive jobs, one chunk for batch files. */
export function quantum(priority: number, version: { maxBatchSize: number }, chunkRows: number): number {
  return priority === BATCH_PRIORITY ? Math.max(1, chunkRows) : Math.max(1, version.maxBatchSize);
}

/** BullMQ's score in its `prioritized` sorted set: priority × 2^32 + an arrival counter. */
export const SCORE_SHIFT = 2 ** 32;

/** The turn of a queued job from its score, for the band based at `base`. */
export const turnOfScore = (score: number, base: number): number => Math.floor(score / SCORE_SHIFT) - base;

/**
 * The turns of `rows.length` jobs a tenant queues together, and its lane's new finish.
 * `head`: the turn of the band's head job, or undefined when the band is empty (the lanes
 * start again, so `finish` is ignored). Mirrors TURNS_LUA (fair-share.ts) line for line.
 */
export function takeTurns(head: number | undefined, finish: number, rows: readonly number[], q: number): { turns: number[]; finish: number } {
  const now = head ?? 0;
  let f = head === undefined ? 0 : finish;
  const turns: number[] = [];
  for (const r of rows) {
    const start = Math.max(now, f);
    turns.push(Math.min(Math.floor(start), TURN_WIDTH - 1));
    f = start + r / q;
  }
  return { turns, finish: f };
}
