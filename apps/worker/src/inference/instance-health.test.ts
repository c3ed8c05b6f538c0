import { decodeJobError } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { pickInstance, restartDelayMs, serving, SessionLostError, type InstanceView } from './instance-health.js';

const i = (state: InstanceView['state'], inflight = 0, name = ''): InstanceView & { name: string } => ({ state, inflight, name });

describe('pickInstance', () => {
  it('never picks a loading or broken instance', () => {
    expect(pickInstance([i('broken'), i('loading')])).toBeUndefined();
    expect(pickInstance([i('broken', 0, 'a'), i('ready', 3, 'b')])?.name).toBe('b');
  });

  it('prefers the ready instance with the fewest runs in flight, the first on a tie', () => {
    expect(pickInstance([i('ready', 2, 'a'), i('ready', 1, 'b'), i('ready', 1, 'c')])?.name).toBe('b');
    expect(pickInstance([i('ready', 0, 'a'), i('ready', 0, 'b')])?.name).toBe('a');
  });
});

describe('serving', () => {
  it('is true while one instance is ready', () => {
    expect(serving([i('broken'), i('ready')])).toBe(true);
    expect(serving([i('broken'), i('loading')])).toBe(false);
    expect(serving([])).toBe(false);
  });
});

describe('restartDelayMs', () => {
  it('replaces at once, then backs off to 30 s', () => {
    expect([0, 1, 2, 3].map(restartDelayMs)).toEqual([0, 500, 1000, 2000]);
    expect(restartDelayMs(20)).toBe(30_000);
  });
});

describe('SessionLostError', () => {
  it('reads as an inference failure once its retries are spent', () => {
    const e = new SessionLostError('thread exited with code 7');
    expect(e.name).toBe('SessionLostError');
    expect(decodeJobError(e.message)).toEqual({ type: 'inference-failed', message: 'session lost: thread exited with code 7' });
  });
});
