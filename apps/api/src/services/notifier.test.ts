import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { JOB_EVENTS_CHANNEL, type Logger } from '@maas/shared';
import { JobNotifier } from './notifier.js';

/** Stands in for the subscriber connection: the notifier only needs 'message', 'ready' and subscribe. */
class FakeSubscriber extends EventEmitter {
  channels: string[] = [];
  async subscribe(channel: string) {
    this.channels.push(channel);
  }
  disconnect() {}
  publish(id: string) {
    this.emit('message', JOB_EVENTS_CHANNEL, JSON.stringify({ id, event: 'completed' }));
  }
}

const log = { warn: () => {} } as unknown as Logger;
const start = async () => {
  const sub = new FakeSubscriber();
  return { sub, notifier: await JobNotifier.start(sub as never, log) };
};
const state = (p: Promise<void>) => Promise.race([p.then(() => 'woken'), new Promise((r) => setImmediate(() => r('waiting')))]);

describe('JobNotifier', () => {
  it('wakes every waiter when its subscription connects again (announcements meanwhile are lost)', async () => {
    const { sub, notifier } = await start();
    const a = notifier.next('job_a', 60_000);
    const b = notifier.next('job_b', 60_000);
    expect(await state(a)).toBe('waiting');
    sub.emit('ready');
    expect(await state(a)).toBe('woken');
    expect(await state(b)).toBe('woken');
    expect(notifier.waiting).toBe(0);
  });

  it("keeps the result of BullMQ's completion event (up to 64 KB of text) and wakes the job's waiters", async () => {
    const { notifier } = await start();
    const small = notifier.next('job_s', 60_000);
    const big = notifier.next('job_b', 60_000);
    notifier.completed('job_s', JSON.stringify({ v: 1, outputs: [], completed: 5 }));
    notifier.completed('job_b', JSON.stringify({ v: 1, outputs: [{ b64: 'x'.repeat(70_000) }] }));
    notifier.completed('job_x', 'not json');
    expect(await state(small)).toBe('woken');
    expect(await state(big)).toBe('woken');
    expect(notifier.result('job_s')).toEqual({ v: 1, outputs: [], completed: 5 });
    expect(notifier.result('job_b')).toBeUndefined(); // too large to keep: its waiter reads the job
    expect(notifier.result('job_x')).toBeUndefined();
    expect(notifier.heard('job_b')).toBe(true);
    await notifier.close();
  });

  it('reads a worker\'s array of events and keeps a settled record only for its own tenant', async () => {
    const { sub, notifier } = await start();
    const a = notifier.next('job_a', 60_000);
    const b = notifier.next('job_b', 60_000);
    const settled = { id: 'job_a', timestamp: 1, finishedOn: 2, data: { inputs: [] }, returnvalue: { v: 1, outputs: [] } };
    sub.emit('message', JOB_EVENTS_CHANNEL, JSON.stringify([
      { id: 'job_a', event: 'completed', tenant: 't1', settled },
      { id: 'job_b', event: 'failed' },
    ]));
    expect(await state(a)).toBe('woken');
    expect(await state(b)).toBe('woken');
    expect(notifier.settled('job_a', 't1')).toEqual(settled);
    expect(notifier.settled('job_a', 't2')).toBeUndefined();
    expect(notifier.settled('job_b', 't1')).toBeUndefined();
    await notifier.close();
  });


  it('one subscription wakes every waiter of the announced job, and only them', async () => {
    const { sub, notifier } = await start();
    expect(sub.channels).toEqual([JOB_EVENTS_CHANNEL]);
    const a = notifier.next('job_a', 60_000);
    const b = notifier.next('job_a', 60_000);
    const c = notifier.next('job_c', 60_000);
    expect(notifier.waiting).toBe(3);
    sub.publish('job_a');
    expect(await state(a)).toBe('woken');
    expect(await state(b)).toBe('woken');
    expect(await state(c)).toBe('waiting');
    expect(notifier.heard('job_a')).toBe(true);
    expect(notifier.heard('job_c')).toBe(false);
    expect(notifier.waiting).toBe(1);
    await notifier.close();
    expect(await state(c)).toBe('woken');
  });

  it('dispose stops one waiter without waking the others', async () => {
    const { notifier } = await start();
    const mine = notifier.listen('job_a', 60_000);
    const other = notifier.listen('job_a', 60_000);
    mine.dispose();
    expect(await state(mine.woken)).toBe('woken');
    expect(await state(other.woken)).toBe('waiting');
    expect(notifier.waiting).toBe(1);
    expect(notifier.heard('job_a')).toBe(false);
    other.dispose();
    expect(notifier.waiting).toBe(0);
  });

  it('counts a waiter watching a member and its carrier once, and wakes it on either (an overload audit: 3,000 long-polls of members read 5,370)', async () => {
    const { notifier } = await start();
    const member = notifier.listen(['job_m', 'job_carrier'], 60_000);
    const other = notifier.listen('job_carrier', 60_000);
    expect(notifier.waiting).toBe(2);
    notifier.wake('job_carrier');
    expect(await state(member.woken)).toBe('woken');
    expect(await state(other.woken)).toBe('woken');
    expect(notifier.waiting).toBe(0);
    const again = notifier.listen(['job_m', 'job_carrier'], 60_000);
    notifier.wake('job_m');
    expect(await state(again.woken)).toBe('woken');
    again.dispose(); // after it ended: nothing more
    expect(notifier.waiting).toBe(0);
  });

  it('gives up after its time or when the request goes away', async () => {
    const { notifier } = await start();
    expect(await Promise.race([notifier.next('job_a', 10).then(() => 'timed out'), new Promise((r) => setTimeout(() => r('stuck'), 1000))])).toBe('timed out');
    const ctl = new AbortController();
    const w = notifier.next('job_b', 60_000, ctl.signal);
    ctl.abort();
    expect(await state(w)).toBe('woken');
    expect(notifier.waiting).toBe(0);
  });

  it('ignores malformed messages', async () => {
    const { sub, notifier } = await start();
    const w = notifier.next('job_a', 60_000);
    sub.emit('message', JOB_EVENTS_CHANNEL, 'not json');
    expect(await state(w)).toBe('waiting');
    await notifier.close();
  });
});
