import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { Stop } from '../services/stop-signal.js';
import { requestSignal } from './request-signal.js';

/** What requestSignal reads of a response: its 'close' event and whether the answer was sent. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
}

describe('requestSignal', () => {
  it('aborts when the response closes unanswered (the client went away), and tells its listener once', () => {
    const res = new FakeResponse();
    const shutdown = new Stop();
    const signal = requestSignal(res, shutdown);
    const heard = vi.fn();
    signal.addEventListener('abort', heard, { once: true });
    expect(signal.aborted).toBe(false);
    res.emit('close');
    expect(signal.aborted).toBe(true);
    shutdown.stop();
    expect(heard).toHaveBeenCalledTimes(1);
  });

  it('does not abort when the response closes after its answer (nobody waits any more)', () => {
    const res = new FakeResponse();
    const signal = requestSignal(res, new Stop());
    res.writableFinished = true;
    res.emit('close');
    expect(signal.aborted).toBe(false);
  });

  it('aborts at shutdown, also one that came first; an AbortSignal serves as the shutdown too', () => {
    const shutdown = new Stop();
    const signal = requestSignal(new FakeResponse(), shutdown);
    const heard = vi.fn();
    signal.addEventListener('abort', heard);
    shutdown.stop();
    expect(signal.aborted).toBe(true);
    expect(heard).toHaveBeenCalledTimes(1);
    expect(requestSignal(new FakeResponse(), shutdown).aborted).toBe(true);
    const controller = new AbortController();
    const viaAbort = requestSignal(new FakeResponse(), controller.signal);
    const heardToo = vi.fn();
    viaAbort.addEventListener('abort', heardToo);
    controller.abort();
    expect(viaAbort.aborted).toBe(true);
    expect(heardToo).toHaveBeenCalledTimes(1);
  });

  it('leaves nothing on the shutdown once its listener is removed', () => {
    const shutdown = new Stop();
    const res = new FakeResponse();
    const signal = requestSignal(res, shutdown);
    const heard = vi.fn();
    signal.addEventListener('abort', heard);
    signal.removeEventListener('abort', heard);
    shutdown.stop();
    res.emit('close');
    expect(heard).not.toHaveBeenCalled();
  });
});
