import { describe, expect, it } from 'vitest';
import { mayPack, TurnPacker } from './turn-packer.js';
import type { PreparedJob } from './jobs.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const job = (id: string, rows = 1) => ({ id, version: { maxBatchSize: 64 }, checked: { rows } }) as unknown as PreparedJob;

/** A packer whose enqueue records each pack's ids and answers each request with its id. */
function packer() {
  const packs: string[][] = [];
  const p = new TurnPacker<string>(async (_tenant, prepared) => {
    const ids = prepared.map((j) => (j as unknown as { id: string }).id);
    packs.push(ids);
    return ids;
  });
  const submit = (id: string, rows = 1) => p.submit('t', job(id, rows), 'k');
  return { packs, submit };
}

describe('TurnPacker', () => {
  it('a lone request is queued a turn later, alone', async () => {
    const { packs, submit } = packer();
    const answer = submit('a');
    await turn();
    expect(packs).toEqual([['a']]);
    expect(await answer).toBe('a');
  });

  it("requests of one turn share a pack, each answered with its own result", async () => {
    const { packs, submit } = packer();
    const answers = [submit('a'), submit('b'), submit('c')];
    await turn();
    expect(packs).toEqual([['a', 'b', 'c']]);
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c']);
  });

  it('under load (the last flush packed company) a flush waits one turn more, so the next turn’s requests join', async () => {
    const { packs, submit } = packer();
    void submit('a');
    void submit('b');
    await turn();
    expect(packs).toEqual([['a', 'b']]);
    void submit('c');
    setImmediate(() => void submit('d')); // read in the turn after c's
    await turn();
    expect(packs).toEqual([['a', 'b']]); // c waits
    await turn();
    expect(packs).toEqual([['a', 'b'], ['c', 'd']]);
  });

  it('only one turn more: a flush under load still goes after two turns, and a lone one ends the load', async () => {
    const { packs, submit } = packer();
    void submit('a');
    void submit('b');
    await turn();
    void submit('c');
    await turn();
    await turn();
    expect(packs).toEqual([['a', 'b'], ['c']]);
    void submit('d'); // the flush before it packed no company: no wait
    await turn();
    expect(packs).toEqual([['a', 'b'], ['c'], ['d']]);
  });
});

describe('mayPack', () => {
  const prepared = (maxBatchSize: number, rows: number, req: Record<string, unknown> = {}) => ({ req, version: { maxBatchSize }, checked: { rows } }) as unknown as PreparedJob;
  it('packs a request of a batching model that leaves room and has no deadline of its own', () => {
    expect(mayPack(prepared(64, 1))).toBe(true);
    expect(mayPack(prepared(64, 1, { priority: 5 }))).toBe(true);
    expect(mayPack(prepared(1, 1))).toBe(false);
    expect(mayPack(prepared(64, 64))).toBe(false);
    expect(mayPack(prepared(64, 1, { timeout_ms: 500 }))).toBe(false);
  });
});
