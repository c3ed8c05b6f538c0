import { describe, expect, it } from 'vitest';
import { RunCost, WARM_UP_RUNS } from './run-cost.js';

describe('RunCost', () => {
  it('predicts nothing until it has seen enough runs', () => {
    const c = new RunCost();
    for (let i = 0; i < WARM_UP_RUNS - 1; i++) c.observe(1, 0.05);
    expect(c.predict(1)).toBe(Infinity);
    c.observe(1, 0.05);
    expect(c.predict(1)).toBeLessThan(0.1);
  });

  it('a model of microsecond runs stays cheap for small batches and grows with rows', () => {
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
});
