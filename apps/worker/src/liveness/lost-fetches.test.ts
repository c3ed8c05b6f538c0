import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Logger } from '@maas/shared';
import { closes, LostFetches, type LostFetchBackend } from './lost-fetches.js';

const log = { warn: () => {}, debug: () => {} } as unknown as Logger;

/** A backend whose active jobs are locked as `locks` says; records what is handed back. */
function backendWith(locks: Record<string, string>) {
  const handedBack: string[] = [];
  const scripts: unknown[][] = [];
  const client = {
    defineCommand: () => {},
    runCommand: async (name: string, args: (string | number)[]) => {
      scripts.push([name, ...args]);
      if (name !== 'maasLockedUnder') return 1;
      const [, , token, ...leave] = args;
      return Object.entries(locks).filter(([id, t]) => t === token && !leave.includes(id)).map(([id]) => id);
    },
  };
  const backend: LostFetchBackend = {
    queue: { keys: { '': 'bull:q:', active: 'bull:q:active', meta: 'bull:q:meta', marker: 'bull:q:marker' }, client: Promise.resolve(client) },
    moveJobFromActiveToWait: async (id, token) => {
      if (locks[id] !== token) throw new Error('Missing lock');
      handedBack.push(id);
      delete locks[id];
    },
  };
  return { backend, handedBack, scripts };
}

describe('closes', () => {
  it('counts the closes of a connection from when it is first asked about; 0 for one without events', () => {
    const c = new EventEmitter();
    expect(closes(c)).toBe(0);
    c.emit('close');
    c.emit('close');
    expect(closes(c)).toBe(2);
    expect(closes({})).toBe(0);
  });
});

describe('LostFetches.around', () => {
  it('looks for nothing while the connection stays up', async () => {
    const { backend, scripts } = backendWith({ j1: 'w:1', j2: 'w:1' });
    const lost = new LostFetches(backend, log);
    expect(await lost.around(new EventEmitter(), 'w:1', async () => ({ id: 'j1' }), (j) => j.id)).toEqual({ id: 'j1' });
    expect(scripts).toEqual([]);
  });

  it('hands back, before answering, every job locked under the token but the one a fetch that outlived its connection brought', async () => {
    const { backend, handedBack, scripts } = backendWith({ j1: 'w:1', j2: 'w:1', j3: 'w:2', j4: 'other:1' });
    const lost = new LostFetches(backend, log);
    const c = new EventEmitter();
    const answered = await lost.around(c, 'w:1', async () => {
      c.emit('close'); // reset mid-reply; ioredis sent the fetch again, which brought j1
      return { id: 'j1' };
    }, (j) => j.id);
    expect(answered).toEqual({ id: 'j1' });
    expect(handedBack).toEqual(['j2']); // not j1 (brought), j3 (another fetch's), j4 (another worker's)
    expect(scripts).toContainEqual(['maasMarkUnlessPaused', 'bull:q:meta', 'bull:q:marker']); // its queue marked again
  });

  it('hands back every job locked under the token when the fetch sent again brings none, or fails', async () => {
    const { backend, handedBack } = backendWith({ j1: 'w:1', j2: 'w:3' });
    const lost = new LostFetches(backend, log);
    const c = new EventEmitter();
    await lost.around(c, 'w:1', async () => (c.emit('close'), undefined), (j: { id: string } | undefined) => j?.id);
    await expect(lost.around(c, 'w:3', async () => {
      c.emit('close');
      throw new Error('Missing key for job x. moveToFinished');
    }, () => undefined)).rejects.toThrow(/Missing key/);
    expect(handedBack).toEqual(['j1', 'j2']);
  });

  it('never throws for the recovery itself: a job moved on meanwhile is left alone', async () => {
    const { backend, handedBack } = backendWith({ j1: 'w:1' });
    backend.moveJobFromActiveToWait = async () => {
      throw new Error('Missing lock');
    };
    const lost = new LostFetches(backend, log);
    const c = new EventEmitter();
    expect(await lost.around(c, 'w:1', async () => (c.emit('close'), 'x'), () => undefined)).toBe('x');
    expect(handedBack).toEqual([]);
  });

  it('never hands back the job a completion ends (listed to leave), only the next one it took', async () => {
    const { backend, handedBack } = backendWith({ ended: 'w:1', next: 'w:1' });
    const lost = new LostFetches(backend, log);
    const c = new EventEmitter();
    await expect(lost.around(c, 'w:1', async () => {
      c.emit('close');
      throw new Error('READONLY');
    }, () => undefined, ['ended'])).rejects.toThrow(/READONLY/);
    expect(handedBack).toEqual(['next']);
  });

  it('looks for nothing for a fetch sent while its connection was down (it waits in ioredis\'s queue and goes out once)', async () => {
    const { backend, scripts } = backendWith({ j1: 'w:1' });
    const lost = new LostFetches(backend, log);
    const c = Object.assign(new EventEmitter(), { status: 'reconnecting' });
    await lost.around(c, 'w:1', async () => {
      c.emit('close'); // another failed attempt
      c.status = 'ready';
      return undefined;
    }, () => undefined);
    expect(scripts).toEqual([]);
  });
});
