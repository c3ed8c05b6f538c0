/**
 * Progress of long work (a batch upload, a batch running) on stderr, so stdout stays clean for
 * pipes. On a terminal: one line redrawn in place. Elsewhere (CI logs, `2> file`): a plain line
 * every few seconds, since carriage returns make a mess of a log file.
 */
import { formatBytes, formatCount, formatDuration } from './format.js';
import type { OutStream } from './io.js';

export interface ProgressState {
  done: number;
  /** undefined while unknown (an upload read from stdin): no bar, no percentage, no ETA */
  total: number | undefined;
  /** `lines`: a batch's lines (its counts are per line, whatever rows a line holds) */
  unit: 'lines' | 'bytes';
  /** per second; undefined while not yet known */
  rate?: number | undefined;
}

/** `[#####-----]` for a fraction in [0, 1]. */
export function formatBar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.floor(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** `[#####-----] 52% 520,000/1,000,000 lines · 12,300 lines/s · ETA 39s` */
export function formatProgress(s: ProgressState, width = 20): string {
  const amount = (n: number) => (s.unit === 'bytes' ? formatBytes(n) : formatCount(n));
  const unit = s.unit === 'lines' ? ' lines' : '';
  const total = s.total;
  const fraction = total !== undefined && total > 0 ? s.done / total : 0;
  const parts = [total === undefined ? `${amount(s.done)}${unit}` : `${formatBar(fraction, width)} ${Math.floor(fraction * 100)}% ${amount(s.done)}/${amount(total)}${unit}`];
  if (s.rate !== undefined && s.rate > 0) {
    parts.push(s.unit === 'bytes' ? `${formatBytes(s.rate)}/s` : `${formatCount(s.rate)} lines/s`);
    if (total !== undefined && s.done < total) parts.push(`ETA ${formatDuration((total - s.done) / s.rate)}`);
  }
  return parts.join(' · ');
}

/**
 * Rate over a sliding window: recent speed, not the average since the start (which would
 * include the time a batch sat queued and make the ETA too pessimistic).
 */
export class RateMeter {
  private samples: { t: number; done: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  sample(t: number, done: number): void {
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
  }

  /** per second, or undefined until a second of samples has progress in it */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t - first.t < 1000 || last.done <= first.done) return undefined;
    return ((last.done - first.done) * 1000) / (last.t - first.t);
  }
}

export interface ReporterOptions {
  /** printed before the bar: `uploading`, `batch_x running` */
  label: string;
  /** non-terminal output: at most one line per this many ms; default 5000 */
  plainIntervalMs?: number;
  /** terminal output: at most one redraw per this many ms; default 100 */
  ttyIntervalMs?: number;
  now?: (() => number) | undefined;
}

export class ProgressReporter {
  private readonly meter = new RateMeter();
  private readonly tty: boolean;
  private readonly now: () => number;
  private lastWrite = -Infinity;
  /** the latest state's text, when it has not been written yet */
  private unwritten: string | undefined;
  private drawn = false;

  constructor(private readonly out: OutStream, private readonly opts: ReporterOptions) {
    this.tty = out.isTTY === true;
    this.now = opts.now ?? Date.now;
  }

  update(done: number, total: number | undefined, unit: ProgressState['unit'], label = this.opts.label): void {
    const t = this.now();
    this.meter.sample(t, done);
    this.unwritten = `${label} ${formatProgress({ done, total, unit, rate: this.meter.rate() }, this.tty ? 20 : 10)}`;
    const interval = this.tty ? this.opts.ttyIntervalMs ?? 100 : this.opts.plainIntervalMs ?? 5000;
    if (t - this.lastWrite >= interval) {
      this.lastWrite = t;
      this.write();
    }
  }

  /** Writes the last state if it was held back, and ends a redrawn line. */
  finish(): void {
    // The final state, held back by the interval, is written: the bar ends where the work ended,
    // and a log does not end at an upload's 0 % (a short upload wrote only its first state).
    if (this.unwritten !== undefined) this.write();
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
    this.unwritten = undefined;
  }

  private write(): void {
    const text = this.unwritten!;
    this.unwritten = undefined;
    if (this.tty) {
      // Cut to the terminal's width: a wrapped line cannot be redrawn with \r.
      const cols = this.out.columns || 100; // some terminals (script, docker -t) report 0
      this.out.write(`\r\x1b[2K${text.length >= cols ? text.slice(0, cols - 1) : text}`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }
}
