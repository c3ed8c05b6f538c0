import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { Stop } from '../services/stop-signal.js';
import { clientGone, requestSignal } from './request-signal.js';

/** What requestSignal reads of a response: its 'close' event and whether the answer was sent. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
  closed = false;
  override emit(event: string): boolean {
    if (event === 'close') this.closed = true;
    return super.emit(event);
  }
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

  it('aborts at once when the response had closed unanswered before it was asked (a client that left while its request was read)', () => {
    const res = new FakeResponse();
    res.emit('close');
    const signal = requestSignal(res, new Stop());
    expect(signal.aborted).toBe(true);
    const heard = vi.fn();
    signal.addEventListener('abort', heard);
    expect(heard).not.toHaveBeenCalled(); // as AbortSignal: a listener added after the abort is never called
    expect(clientGone(res).aborted).toBe(true);
    const answered = new FakeResponse();
    answered.writableFinished = true;
    answered.emit('close');
    expect(clientGone(answered).aborted).toBe(false);
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
