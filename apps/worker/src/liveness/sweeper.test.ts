import { describe, expect, it } from 'vitest';
import { byHolder } from './sweeper.js';

describe('byHolder', () => {
  it("groups RELEASE's reply by dead worker, an alias (its deliverer) under its worker", () => {
    const workerOf = new Map([['w1', 'w1'], ['w1:webhooks', 'w1'], ['w2', 'w2']]);
    expect([...byHolder(['j1', 'w1', 'm1', 'w1:webhooks', 'j2', 'w2', 'j3', 'w1'], workerOf)]).toEqual([
      ['w1', ['j1', 'm1', 'j3']],
      ['w2', ['j2']],
    ]);
    expect(byHolder([], workerOf).size).toBe(0);
  });
});
