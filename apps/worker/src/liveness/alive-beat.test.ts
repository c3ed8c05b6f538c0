import { describe, expect, it } from 'vitest';
import type { Logger } from '@maas/shared';
import { AliveBeat } from './alive-beat.js';

const log = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;

/** A Redis whose EVAL answers when `answer()` is called (or at once, `prompt`). */
function fakeRedis(prompt: boolean) {
  const pending: (() => void)[] = [];
  let sent = 0;
  const redis = {
    eval: () => {
      sent++;
      return prompt ? Promise.resolve(Date.now()) : new Promise<number>((resolve) => pending.push(() => resolve(Date.now())));
    },
  };
  return { redis: redis as never, sent: () => sent, answer: () => pending.splice(0).forEach((f) => f()) };
}

describe('AliveBeat', () => {
  it('sends no renewal while the last one is unanswered (a link that delivers commands but not replies must let its entry expire), and renews again once answered', async () => {
    const r = fakeRedis(false);
    const beat = new AliveBeat(r.redis, 'w1', 3000, log);
    for (let i = 0; i < 5; i++) beat.tick();
    expect(r.sent()).toBe(1);
    expect(beat.steady()).toBe(false); // its sweeper calls no one dead meanwhile
    r.answer();
    await new Promise((resolve) => setImmediate(resolve));
    beat.tick();
    expect(r.sent()).toBe(2);
  });

  it('renews every tick while Redis answers', async () => {
    const r = fakeRedis(true);
    const beat = new AliveBeat(r.redis, 'w1', 3000, log);
    for (let i = 0; i < 3; i++) {
      beat.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(r.sent()).toBe(3);
  });
});
