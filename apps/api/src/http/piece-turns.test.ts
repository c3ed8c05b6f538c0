import { describe, expect, it } from 'vitest';
import { PieceTurns } from './piece-turns.js';

/** Busy for `ms` of wall time: a piece of CPU work. */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('PieceTurns', () => {
  it('runs one piece of all answers a turn of the event loop, the answer begun first going first', async () => {
    const turns = new PieceTurns();
    const ran: string[] = [];
    const answer = async (name: string, pieces: number) => {
      const order = turns.order();
      for (let i = 0; i < pieces; i++) {
        await turns.turn(order);
        ran.push(name);
        busy(2);
      }
    };
    // Another request's work, on every turn: a timer (the timers phase) and an I/O-like callback.
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks++;
      ran.push('tick');
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    await Promise.all([answer('a', 4), answer('b', 3), answer('c', 2)]);
    ticking = false;
    const pieces = ran.filter((r) => r !== 'tick');
    expect(pieces).toEqual(['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c']);
    // Between two pieces the loop went round: no two pieces ran without a timer between them.
    const firstPiece = ran.findIndex((r) => r !== 'tick');
    const lastPiece = ran.length - 1 - [...ran].reverse().findIndex((r) => r !== 'tick');
    const during = ran.slice(firstPiece, lastPiece + 1);
    for (let i = 1; i < during.length; i++) expect(during[i] === 'tick' || during[i - 1] === 'tick').toBe(true);
    expect(ticks).toBeGreaterThanOrEqual(8);
    expect(turns.queued).toBe(0);
  });

  it('gives a later answer a turn as soon as the earlier ones have none waiting, and starts again when idle', async () => {
    const turns = new PieceTurns();
    const first = turns.order();
    const second = turns.order();
    const ran: number[] = [];
    await Promise.all([turns.turn(second).then(() => ran.push(second)), turns.turn(first).then(() => ran.push(first))]);
    expect(ran).toEqual([first, second]);
    await turns.turn(turns.order()); // idle, then asked again: a turn comes
    expect(turns.queued).toBe(0);
  });
});
