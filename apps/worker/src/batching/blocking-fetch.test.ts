import { describe, expect, it } from 'vitest';
import type { Logger } from '@maas/shared';
import { missingMembers, waitAndTake, type WorkerInternals } from './blocking-fetch.js';

/** What the blocking fetch reads of BullMQ's Worker, as bullmq 6 has it (e2e workers.blocking-fetch tests the real one). */
function workerLike(): Record<string, unknown> {
  const fn = () => undefined;
  const keys = Object.fromEntries(['', 'wait', 'active', 'prioritized', 'events', 'stalled', 'limiter', 'delayed', 'paused', 'meta', 'pc', 'marker'].map((k) => [k, `bull:q:${k}`]));
  return {
    _getNextJob: fn, isRateLimited: fn, getBlockTimeout: fn, updateDelays: fn, nextJobFromJobData: fn, delay: fn,
    drained: false, limitUntil: 0, blockUntil: 0,
    backend: { version: '6.7.0', queue: { keys, opts: {}, blockingClient: Promise.resolve({}) }, reconnectBlocking: fn, moveJobFromActiveToWait: fn },
  };
}

describe('missingMembers', () => {
  it('finds nothing missing in a worker that has every member it uses', () => {
    expect(missingMembers(workerLike())).toEqual([]);
  });

  it('names what a changed BullMQ lacks, so its worker keeps its own fetch', () => {
    expect(missingMembers({})).toEqual(expect.arrayContaining(['_getNextJob', 'nextJobFromJobData', 'drained', 'backend']));
    const renamed = workerLike();
    delete renamed['_getNextJob'];
    expect(missingMembers(renamed)).toEqual(['_getNextJob']);
    const noMarker = workerLike();
    delete ((noMarker['backend'] as { queue: { keys: Record<string, string> } }).queue.keys)['marker'];
    expect(missingMembers(noMarker)).toEqual(['key marker']);
    const noBlocking = workerLike();
    (noBlocking['backend'] as { queue: Record<string, unknown> }).queue['blockingClient'] = undefined;
    expect(missingMembers(noBlocking)).toEqual(['backend']);
  });
});

describe('waitAndTake', () => {
  it('sends BZPOPMIN, moveToActive and the stale marker\'s drop (a script defined on the connection, sent by its SHA) in one write: all while the socket is corked, then uncorked once', async () => {
    const events: string[] = [];
    let corked = false;
    const client = {
      stream: { cork: () => ((corked = true), events.push('cork')), uncork: () => ((corked = false), events.push('uncork')) },
      bzpopmin: (key: string, timeout: number) => (events.push(`bzpopmin ${key} ${timeout} corked=${corked}`), new Promise<null>(() => {})),
      runCommand: (name: string, args: unknown[]) => (events.push(`${name} ${name.startsWith('maas') ? args.join(' ') : `${args.length} args`} corked=${corked}`), Promise.resolve([null, 'j1', 0, 0])),
      defineCommand: (name: string, d: { numberOfKeys: number }) => events.push(`define ${name} ${d.numberOfKeys} keys`),
    };
    const w = workerLike();
    (w['backend'] as { queue: Record<string, unknown> }).queue['blockingClient'] = Promise.resolve(client);
    w['opts'] = { name: 'mlp' };
    const next = await waitAndTake(w as unknown as WorkerInternals, 'token', 5, { warn: () => {} } as unknown as Logger);
    expect(next).toEqual([null, 'j1', 0, 0]);
    expect(events).toEqual([
      'cork', 'bzpopmin bull:q:marker 5 corked=true', 'moveToActive:6.7.0 14 args corked=true',
      'define maasDropStaleMarker 3 keys', 'maasDropStaleMarker bull:q:wait bull:q:prioritized bull:q:marker corked=true', 'uncork',
    ]);
  });
});
