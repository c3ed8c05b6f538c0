import { describe, expect, it } from 'vitest';
import type { OutStream } from './io.js';
import { formatBar, formatProgress, ProgressReporter, RateMeter } from './progress.js';

describe('formatProgress', () => {
  it('draws the documented line', () => {
    expect(formatProgress({ done: 520_000, total: 1_000_000, unit: 'lines', rate: 12_300 }, 10)).toBe(
      '[#####-----] 52% 520,000/1,000,000 lines · 12,300 lines/s · ETA 39s',
    );
  });

  it('leaves out rate and ETA until known, and the ETA once done', () => {
    expect(formatProgress({ done: 0, total: 1000, unit: 'lines' }, 10)).toBe('[----------] 0% 0/1,000 lines');
    expect(formatProgress({ done: 1000, total: 1000, unit: 'lines', rate: 50 }, 10)).toBe('[##########] 100% 1,000/1,000 lines · 50 lines/s');
  });

  it('without a known total (an upload from stdin): the amount and the rate, no bar, no ETA', () => {
    expect(formatProgress({ done: 14_200_000, total: undefined, unit: 'bytes', rate: 8_100_000 }, 10)).toBe('14.2 MB · 8.1 MB/s');
  });

  it('shows bytes for uploads', () => {
    expect(formatProgress({ done: 14_200_000, total: 27_300_000, unit: 'bytes', rate: 8_100_000 }, 10)).toBe(
      '[#####-----] 52% 14.2 MB/27.3 MB · 8.1 MB/s · ETA 2s',
    );
  });

  it('never overflows the bar', () => {
    expect(formatBar(1.5, 4)).toBe('[####]');
    expect(formatBar(-1, 4)).toBe('[----]');
    expect(formatBar(NaN, 4)).toBe('[----]');
    expect(formatProgress({ done: 5, total: 0, unit: 'lines' }, 4)).toBe('[----] 0% 5/0 lines');
  });
});

describe('RateMeter', () => {
  it('measures over a sliding window', () => {
    const m = new RateMeter(10_000);
    m.sample(0, 0);
    expect(m.rate()).toBeUndefined();
    m.sample(500, 100);
    expect(m.rate()).toBeUndefined(); // under a second of samples
    m.sample(2000, 2000);
    expect(m.rate()).toBe(1000);
    // A long stall drops out of the window: the rate reflects the recent speed.
    for (let t = 3000; t <= 30_000; t += 1000) m.sample(t, 2000 + (t - 2000) * 5);
    expect(m.rate()).toBeCloseTo(5000, 5);
  });
});

function capture(isTTY: boolean): OutStream & { text: string } {
  const s = { text: '', isTTY, columns: 60, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as OutStream & { text: string };
}

describe('ProgressReporter', () => {
  it('redraws one line in place on a terminal, cut to its width', () => {
    const out = capture(true);
    let now = 0;
    const r = new ProgressReporter(out, { label: 'batch_1 running', now: () => now });
    r.update(0, 100, 'lines');
    now = 2000;
    r.update(50, 100, 'lines');
    now = 2050; // within 100 ms of the last redraw: held back until finish()
    r.update(60, 100, 'lines');
    expect(out.text.split('\r\x1b[2K').filter(Boolean)).toHaveLength(2);
    now = 2080;
    r.update(70, 100, 'lines');
    r.finish();
    const frames = out.text.split('\r\x1b[2K').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[1]).toMatch(/^batch_1 running \[#{10}-{10}\] 50% 50\/100 lines · /);
    expect(frames[2]).toMatch(/^batch_1 running \[#{14}-{6}\] 70% 70\/100 lines/);
    expect(frames[2]!.endsWith('\n')).toBe(true);
    expect(frames[2]!.trimEnd().length).toBeLessThan(60);
  });

  it('on a terminal that reports 0 columns, draws the whole line (as 100 wide), not one character less each time', () => {
    const out = Object.assign(capture(true), { columns: 0 });
    const r = new ProgressReporter(out, { label: 'up', now: () => 0 });
    r.update(50, 100, 'lines');
    expect(out.text).toBe('\r\x1b[2Kup [##########----------] 50% 50/100 lines');
  });

  it('prints plain lines at most every interval elsewhere', () => {
    const out = capture(false);
    let now = 0;
    const r = new ProgressReporter(out, { label: 'b', plainIntervalMs: 5000, now: () => now });
    for (; now <= 12_000; now += 1000) r.update(now / 100, 120, 'lines');
    r.finish();
    expect(out.text).not.toContain('\r');
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toHaveLength(4); // t = 0, 5 s, 10 s, and the last state at finish()
    expect(lines[2]).toMatch(/^b \[########--\] 83% 100\/120 lines · 10 lines\/s · ETA 2s$/);
    expect(lines[3]).toMatch(/^b \[##########\] 100% 120\/120 lines/);
  });
});
