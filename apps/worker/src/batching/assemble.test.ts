import { tensorOf, toJsonValues, type RawTensor } from '@maas/shared';
import { describe, expect, it } from 'vitest';
import { concatRows } from '@maas/shared';
import { assembleFeeds, shapeKey, splitOutputs } from './assemble.js';
import { cutRun, type PendingJob, type Slice } from './cut.js';

const tensor = tensorOf;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const values = (t: RawTensor) => toJsonValues(t);

interface Job { id: string; inputs: RawTensor[] }

/** A job with an FP32 [rows, 3] input `x` and a BYTES [rows, 2] input `s`, values unique per job. */
function makeJob(id: string, rows: number, base: number): Job {
  return {
    id,
    inputs: [
      tensor('x', 'FP32', [rows, 3], range(rows * 3, base)),
      tensor('s', 'BYTES', [rows, 2], range(rows * 2).map((i) => `${id}-${i}`)),
    ],
  };
}

describe('assembleFeeds / splitOutputs', () => {
  const jobs = [makeJob('a', 2, 0), makeJob('b', 5, 100), makeJob('c', 1, 200)];
  const inputsOf = (j: Job) => j.inputs;

  function pendingOf(list: Job[]): PendingJob<Job>[] {
    return list.map((job) => ({ job, rows: job.inputs[0]!.shape[0]!, taken: 0, shapeKey: shapeKey(job.inputs), arrivedAt: 0 }));
  }

  it('joins the slices\' rows per input, in slice order', () => {
    const slices = cutRun(pendingOf(jobs), 100);
    const feeds = assembleFeeds(slices, inputsOf);
    expect(feeds.map((f) => [f.name, f.shape])).toEqual([['x', [8, 3]], ['s', [8, 2]]]);
    expect(values(feeds[0]!)).toEqual([...range(6, 0), ...range(15, 100), ...range(3, 200)]);
    expect(values(feeds[1]!).slice(0, 5)).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'b-0']);
  });

  it('only the rows of partial slices go in', () => {
    const slices: Slice<Job>[] = [
      { job: jobs[1]!, start: 3, end: 5, offset: 0 },
      { job: jobs[0]!, start: 0, end: 1, offset: 2 },
    ];
    const [x, s] = assembleFeeds(slices, inputsOf);
    expect(x!.shape).toEqual([3, 3]);
    expect(values(x!)).toEqual([109, 110, 111, 112, 113, 114, 0, 1, 2]);
    expect(s!.data).toEqual(['b-6', 'b-7', 'b-8', 'b-9', 'a-0', 'a-1']);
  });

  it('no slices, no feeds', () => {
    expect(assembleFeeds<Job>([], inputsOf)).toEqual([]);
  });

  it('rows joined then split back equal the originals (FP32 and BYTES), across several runs', () => {
    const pending = pendingOf(jobs);
    const got = new Map<string, { start: number; outputs: RawTensor[] }[]>();
    let runs = 0;
    while (pending.length) {
      const slices = cutRun(pending, 3); // forces splits: b (5 rows) spans runs
      const feeds = assembleFeeds(slices, inputsOf);
      const outputs = feeds; // an identity "model"
      splitOutputs(slices, outputs).forEach((parts, i) => {
        const s = slices[i]!;
        got.set(s.job.id, [...(got.get(s.job.id) ?? []), { start: s.start, outputs: parts }]);
      });
      runs++;
    }
    expect(runs).toBe(3);
    for (const job of jobs) {
      const parts = got.get(job.id)!.sort((p, q) => p.start - q.start);
      const joined = job.inputs.map((_, i) => concatRows(parts.map((p) => p.outputs[i]!)));
      expect(joined.map((t) => t.shape)).toEqual(job.inputs.map((t) => t.shape));
      expect(values(joined[0]!)).toEqual(values(job.inputs[0]!));
      expect(joined[1]!.data).toEqual(job.inputs[1]!.data);
    }
  });

  it('splits a row-wise computation back to the job that sent each row', () => {
    const slices = cutRun(pendingOf(jobs), 100);
    const [x] = assembleFeeds(slices, inputsOf);
    // "model": per-row sum of x → [rows]
    const xs = values(x!) as number[];
    const sums = tensor('sum', 'FP64', [x!.shape[0]!], range(x!.shape[0]!).map((r) => xs[r * 3]! + xs[r * 3 + 1]! + xs[r * 3 + 2]!));
    const split = splitOutputs(slices, [sums]);
    expect(split.map((p) => p[0]!.shape)).toEqual([[2], [5], [1]]);
    split.forEach((p, i) => {
      const own = values(jobs[i]!.inputs[0]!) as number[];
      const expected = range(jobs[i]!.inputs[0]!.shape[0]!).map((r) => own[r * 3]! + own[r * 3 + 1]! + own[r * 3 + 2]!);
      expect(values(p[0]!)).toEqual(expected);
    });
  });
});

describe('shapeKey', () => {
  it('ignores the first (row) dimension', () => {
    expect(shapeKey(makeJob('a', 2, 0).inputs)).toBe(shapeKey(makeJob('b', 7, 0).inputs));
    expect(shapeKey(makeJob('a', 2, 0).inputs)).toBe('3|2');
  });

  it('differs when any other dimension differs', () => {
    const a = [tensor('x', 'FP32', [1, 2, 3], range(6))];
    const b = [tensor('x', 'FP32', [1, 3, 2], range(6))];
    const c = [tensor('x', 'FP32', [1, 6], range(6))];
    expect(new Set([shapeKey(a), shapeKey(b), shapeKey(c)]).size).toBe(3);
  });

  it('keeps input boundaries apart', () => {
    const a = [tensor('x', 'FP32', [1, 2], range(2)), tensor('y', 'FP32', [1, 34], range(34))];
    const b = [tensor('x', 'FP32', [1, 23], range(23)), tensor('y', 'FP32', [1, 4], range(4))];
    expect(shapeKey(a)).not.toBe(shapeKey(b));
  });

  it('rank-1 inputs have an empty per-input key', () => {
    expect(shapeKey([tensor('l', 'INT64', [3], [1, 2, 3])])).toBe('');
  });
});
