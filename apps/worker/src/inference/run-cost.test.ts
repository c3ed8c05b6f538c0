import { describe, expect, it } from 'vitest';
import { RECENT_RUNS, RunCost, WARM_UP_RUNS } from './run-cost.js';

describe('RunCost', () => {
  it('predicts nothing until it has seen enough runs', () => {
    const c = new RunCost();
    for (let i = 0; i < WARM_UP_RUNS - 1; i++) c.observe(1, 0.05);
    expect(c.predict(1)).toBe(Infinity);
    c.observe(1, 0.05);
    expect(c.predict(1)).toBeLessThan(0.1);
  });

  it('a model of microsecond runs stays cheap at few rows and grows with rows', () => {
    const c = new RunCost();
    for (let i = 0; i < 50; i++) {
      c.observe(1, 0.03);
      c.observe(64, 0.1);
      c.observe(1024, 1.0);
    }
    expect(c.predict(1)).toBeLessThan(0.1);
    expect(c.predict(8)).toBeLessThan(0.5);
    expect(c.predict(1024)).toBeGreaterThan(0.5);
  });

  it('a heavy model is never predicted cheap', () => {
    const c = new RunCost();
    for (let i = 0; i < 20; i++) c.observe(1, 40);
    expect(c.predict(1)).toBeGreaterThan(10);
  });

  it('delays that add to some runs (waiting for a core, waking threads) do not make a cheap run look dear', () => {
    const c = new RunCost();
    // Measured on a busy 2-core machine: most runs wait, a few run at once.
    for (let i = 0; i < 64; i++) {
      c.observe(1, i % 5 === 0 ? 0.03 : 0.6 + (i % 7) * 0.1);
      c.observe(40, i % 5 === 0 ? 0.06 : 2.7);
    }
    expect(c.predict(1)).toBeLessThan(0.05);
    expect(c.predict(40)).toBeLessThan(0.1);
  });

  it('follows a model that became dearer: old cheap runs are forgotten after RECENT_RUNS', () => {
    const c = new RunCost();
    for (let i = 0; i < 20; i++) c.observe(1, 0.03);
    for (let i = 0; i < RECENT_RUNS; i++) c.observe(1, 3);
    expect(c.predict(1)).toBeGreaterThan(2);
  });

  it('never predicts a size it has not seen from noise: only small runs seen, a large run is dear', () => {
    const c = new RunCost();
    // 3-row runs that took no longer than 1-row runs (the per-row part is below the noise).
    for (let i = 0; i < 40; i++) {
      c.observe(1, 0.05);
      c.observe(3, 0.05);
    }
    expect(c.predict(3)).toBeLessThan(0.1);
    expect(c.predict(1024)).toBeGreaterThan(10);
  });

  it('a run between two sizes seen is bounded by the larger run and by the smaller one scaled up', () => {
    const c = new RunCost();
    for (let i = 0; i < 20; i++) {
      c.observe(40, 0.06);
      c.observe(1024, 1.6);
    }
    expect(c.predict(40)).toBeCloseTo(0.06);
    expect(c.predict(300)).toBeCloseTo(0.45); // 0.06 × 300 / 40, below the 1,024-row run's 1.6
    expect(c.predict(1024)).toBeCloseTo(1.536); // 0.06 × 1024 / 40
    expect(c.predict(4096)).toBeGreaterThan(6);
  });
});
