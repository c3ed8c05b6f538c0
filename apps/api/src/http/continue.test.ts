import type { IncomingMessage } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { continueOnRead } from './continue.js';

async function* pieces(): AsyncGenerator<Buffer> {
  yield Buffer.from('a');
  yield Buffer.from('b');
}
const req = (expect?: string) => ({ headers: expect === undefined ? {} : { expect } }) as IncomingMessage;

describe('continueOnRead', () => {
  it('sends the 100 only once the body is read, to a client that waits for it', async () => {
    const res = { writeContinue: vi.fn() };
    const c = continueOnRead(req('100-Continue'), res, pieces());
    expect(res.writeContinue).not.toHaveBeenCalled();
    expect(c.asked()).toBe(false); // refused now: no body is on its way
    const read: string[] = [];
    for await (const p of c.body) read.push(p.toString());
    expect(read).toEqual(['a', 'b']);
    expect(res.writeContinue).toHaveBeenCalledTimes(1);
    expect(c.asked()).toBe(true);
  });

  it('sends none to a client that does not wait, whose body is on its way from the start', async () => {
    const res = { writeContinue: vi.fn() };
    const c = continueOnRead(req(), res, pieces());
    expect(c.asked()).toBe(true);
    for await (const _ of c.body);
    expect(res.writeContinue).not.toHaveBeenCalled();
  });
});
