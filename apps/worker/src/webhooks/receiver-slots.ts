/**
 * PURE: how many delivery attempts each receiver (a tenant's URL origin) may have in flight in one
 * worker, and how long a delivery beyond that share should wait before it looks again.
 *
 * A receiver's slots free up as fast as it answers, so the wait is the receiver's own recent
 * attempt time (a moving average): a quick receiver's queue moves every few tens of
 * milliseconds, while a dead one that holds each connection until the timeout has its backlog
 * look again only about once per timeout, instead of cycling through Redis every second.
 */
import { urlOrigin } from '@maas/shared';

export interface SlotsOptions {
  /** attempts in flight per receiver */
  perReceiver: number;
  /** the attempt timeout: no wait is longer */
  maxWaitMs: number;
  /** no wait is shorter */
  minWaitMs?: number;
  /** the wait before anything is known of a receiver */
  initialWaitMs?: number;
}

/** A delivery's receiving host: its URL's origin (paths and queries of one host share it); a URL with none, itself. */
export const receivingHost = (url: string): string => urlOrigin(url) ?? url;

/**
 * The receiver a delivery counts against: its URL's origin, as a tenant sees it. Tenants
 * sharing a receiving host (one ingest service for many customers) each get their own share
 * there, so one tenant's URL that hangs does not hold back another's events to the same host;
 * a tenant's own URLs on one host share one share, whatever their paths. The host as a whole
 * and the tenant as a whole have larger caps of their own (deliverer.ts), so neither many
 * tenants' hanging URLs on one host nor one tenant's hanging URLs on many hosts take every slot.
 */
export function receiverOf(url: string, tenant: string): string {
  return `${tenant} ${receivingHost(url)}`;
}

/** Receivers remembered at most (their averages); idle ones are forgotten first. */
const MAX_KNOWN = 10_000;

interface Receiver {
  inFlight: number;
  /** moving average of its attempts' durations, ms */
  avgMs: number | undefined;
}

export class ReceiverSlots {
  private readonly receivers = new Map<string, Receiver>();

  constructor(private readonly opts: SlotsOptions) {}

  /** Takes a slot for `origin`, or returns how long to wait (ms) when it has its share. */
  acquire(origin: string): { ok: true } | { ok: false; waitMs: number } {
    const r = this.receivers.get(origin) ?? { inFlight: 0, avgMs: undefined };
    if (r.inFlight >= this.opts.perReceiver) {
      const { minWaitMs = 100, maxWaitMs, initialWaitMs = 1000 } = this.opts;
      return { ok: false, waitMs: Math.round(Math.min(maxWaitMs, Math.max(minWaitMs, r.avgMs ?? initialWaitMs))) };
    }
    r.inFlight++;
    this.receivers.set(origin, r);
    return { ok: true };
  }

  /** Gives back a slot taken for no attempt (another share was full), its average untouched. */
  giveBack(origin: string): void {
    const r = this.receivers.get(origin);
    if (r) r.inFlight--;
  }

  /** Gives the slot back, with how long the attempt took. */
  release(origin: string, durationMs: number): void {
    const r = this.receivers.get(origin);
    if (!r) return;
    r.inFlight--;
    r.avgMs = r.avgMs === undefined ? durationMs : 0.7 * r.avgMs + 0.3 * durationMs;
    // Most recently used last; beyond MAX_KNOWN receivers, the idle ones used longest ago go.
    this.receivers.delete(origin);
    this.receivers.set(origin, r);
    for (const [o, x] of this.receivers) {
      if (this.receivers.size <= MAX_KNOWN) break;
      if (x.inFlight === 0) this.receivers.delete(o);
    }
  }

  inFlight(origin: string): number {
    return this.receivers.get(origin)?.inFlight ?? 0;
  }
}
