import { describe, expect, it } from 'vitest';
import { TurnCoalescer } from './turn-coalescer.js';

describe('TurnCoalescer', () => {
  it('sends the calls of one turn as one call per queue, answering each caller in order', async () => {
    const sent: [string, number[]][] = [];
    const b = new TurnCoalescer<number, number>(async (q, inputs) => {
      sent.push([q, inputs]);
      return inputs.map((x) => x * 10);
    });
    const answers = await Promise.all([b.add('q1', 1), b.add('q2', 2), b.add('q1', 3)]);
    expect(answers).toEqual([10, 20, 30]);
    expect(sent).toEqual([['q1', [1, 3]], ['q2', [2]]]);
    await b.add('q1', 4); // a later turn is a new call
    expect(sent).toHaveLength(3);
  });

  it('a failed call rejects every caller it carried, and only those', async () => {
    const b = new TurnCoalescer<string, string>(async (q, inputs) => {
      if (q === 'down') throw new Error('redis down');
      return inputs;
    });
    const results = await Promise.allSettled([b.add('down', 'a'), b.add('down', 'b'), b.add('up', 'c')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
