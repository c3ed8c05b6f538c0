import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { requestSignal } from './request-signal.js';

/** What requestSignal reads of a response: its 'close' event and whether the answer was sent. */
class FakeResponse extends EventEmitter {
  writableFinished = false;
}

describe('requestSignal', () => {
  it('aborts when the response closes unanswered (the client went away)', () => {
    const res = new FakeResponse();
    const signal = requestSignal(res, new AbortController().signal);
    expect(signal.aborted).toBe(false);
    res.emit('close');
    expect(signal.aborted).toBe(true);
  });

  it('does not abort when the response closes after its answer (nobody waits any more)', () => {
    const res = new FakeResponse();
    const shutdown = new AbortController();
    const signal = requestSignal(res, shutdown.signal);
    res.writableFinished = true;
    res.emit('close');
    expect(signal.aborted).toBe(false);
    shutdown.abort(); // and it no longer listens to the shutdown
    expect(signal.aborted).toBe(false);
  });

  it('aborts at shutdown, also one that came first', () => {
    const shutdown = new AbortController();
    const signal = requestSignal(new FakeResponse(), shutdown.signal);
    shutdown.abort();
    expect(signal.aborted).toBe(true);
    expect(requestSignal(new FakeResponse(), shutdown.signal).aborted).toBe(true);
  });
});
