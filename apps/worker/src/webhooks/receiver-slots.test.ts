import { describe, expect, it } from 'vitest';
import { receivingHost, receiverOf, ReceiverSlots } from './receiver-slots.js';

describe('ReceiverSlots', () => {
  it('gives each receiver its share of slots, apart from the others', () => {
    const slots = new ReceiverSlots({ perReceiver: 2, maxWaitMs: 10_000 });
    expect(slots.acquire('https://a')).toEqual({ ok: true });
    expect(slots.acquire('https://a')).toEqual({ ok: true });
    expect(slots.acquire('https://a').ok).toBe(false);
    expect(slots.acquire('https://b')).toEqual({ ok: true });
    slots.release('https://a', 30);
    expect(slots.inFlight('https://a')).toBe(1);
    expect(slots.acquire('https://a')).toEqual({ ok: true });
  });

  it("makes a full receiver's backlog wait about as long as its attempts take, within bounds", () => {
    const slots = new ReceiverSlots({ perReceiver: 1, maxWaitMs: 10_000, minWaitMs: 100, initialWaitMs: 1000 });
    slots.acquire('dead');
    expect(slots.acquire('dead')).toEqual({ ok: false, waitMs: 1000 }); // nothing known yet
    slots.release('dead', 10_000); // timed out
    slots.acquire('dead');
    expect(slots.acquire('dead')).toEqual({ ok: false, waitMs: 10_000 });

    slots.acquire('quick');
    slots.release('quick', 20);
    slots.acquire('quick');
    expect(slots.acquire('quick')).toEqual({ ok: false, waitMs: 100 });

    slots.acquire('slow');
    slots.release('slow', 400);
    slots.acquire('slow');
    slots.release('slow', 2000); // 0.7 × 400 + 0.3 × 2000
    slots.acquire('slow');
    expect(slots.acquire('slow')).toEqual({ ok: false, waitMs: 880 });
  });

  it('a release without an acquire changes nothing', () => {
    const slots = new ReceiverSlots({ perReceiver: 1, maxWaitMs: 1000 });
    slots.release('x', 5);
    expect(slots.inFlight('x')).toBe(0);
    expect(slots.acquire('x')).toEqual({ ok: true });
  });
});

describe('receiverOf', () => {
  it('one receiver a tenant and origin: paths and queries share it, tenants do not', () => {
    expect(receiverOf('https://hooks.example.com/a?job=1', 't1')).toBe(receiverOf('https://hooks.example.com/b?job=2', 't1'));
    expect(receiverOf('https://hooks.example.com/a', 't1')).not.toBe(receiverOf('https://hooks.example.com/a', 't2'));
    expect(receiverOf('https://hooks.example.com/a', 't1')).not.toBe(receiverOf('https://other.example.com/a', 't1'));
  });
});

describe('giveBack', () => {
  it('frees a slot taken for no attempt, leaving the average as it was', () => {
    const slots = new ReceiverSlots({ perReceiver: 1, maxWaitMs: 10_000, minWaitMs: 1 });
    expect(slots.acquire('a').ok).toBe(true);
    slots.release('a', 40);
    expect(slots.acquire('a').ok).toBe(true);
    slots.giveBack('a');
    expect(slots.inFlight('a')).toBe(0);
    expect(slots.acquire('a').ok).toBe(true);
    expect(slots.acquire('a')).toEqual({ ok: false, waitMs: 40 });
    expect(receivingHost('https://h.example.com/x?y=1')).toBe('https://h.example.com');
  });
});
