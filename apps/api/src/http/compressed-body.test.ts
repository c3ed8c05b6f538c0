import { describe, expect, it } from 'vitest';
import { slots } from './compressed-body.js';

describe('slots', () => {
  it('lets `count` in at once; the next enters when one leaves, in order; leaving twice frees one slot', async () => {
    const take = slots(2);
    const entered: number[] = [];
    const releases: (() => void)[] = [];
    const go = (i: number) => take().then((release) => {
      entered.push(i);
      releases[i] = release;
    });
    void go(0);
    void go(1);
    void go(2);
    void go(3);
    await new Promise((r) => setImmediate(r));
    expect(entered).toEqual([0, 1]);
    releases[0]!();
    releases[0]!();
    await new Promise((r) => setImmediate(r));
    expect(entered).toEqual([0, 1, 2]);
    releases[2]!();
    await new Promise((r) => setImmediate(r));
    expect(entered).toEqual([0, 1, 2, 3]);
  });
});
