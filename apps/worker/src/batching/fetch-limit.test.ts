import { describe, expect, it } from 'vitest';
import { fetchLimit, handsBack } from './fetch-limit.js';

describe('fetchLimit', () => {
  it('holding nothing at low load (one row at a time lately): one job, whatever the budget (a lone job starts without a second fetch first)', () => {
    expect(fetchLimit({ jobs: 0, rows: 0 }, 4096, 1, 1024, 1)).toBe(1);
    expect(fetchLimit({ jobs: 0, rows: 0 }, 16_384, 8192, 4, 0)).toBe(1);
  });

  it('holding one quick single-row job at low load: still one (the next job comes with its completion, no fetch ahead of its run)', () => {
    expect(fetchLimit({ jobs: 1, rows: 1, quick: true }, 4096, 1, 1024, 1)).toBe(1);
    expect(fetchLimit({ jobs: 1, rows: 1, quick: true }, 4096, 1, 1024, 0)).toBe(1);
  });

  it('a lone job that waits (a window, a busy instance) or runs long, one of several rows, or a backlog seen (lastPeak > 1): the budget', () => {
    expect(fetchLimit({ jobs: 1, rows: 1 }, 4096, 1, 1024, 1)).toBe(1024);
    expect(fetchLimit({ jobs: 1, rows: 2, quick: true }, 4096, 1, 1024, 1)).toBe(1024);
    expect(fetchLimit({ jobs: 1, rows: 1, quick: true }, 4096, 1, 1024, 2)).toBe(1024);
  });

  it('holding nothing for a moment under load or after larger jobs (several rows at once lately): the budget, so a run\'s worth is fetched together', () => {
    expect(fetchLimit({ jobs: 0, rows: 0 }, 4096, 1, 1024, 30)).toBe(1024);
    expect(fetchLimit({ jobs: 0, rows: 0 }, 16_384, 8192, 1024, 2)).toBe(2);
  });

  it('holding jobs: those held plus what the rest of the row budget fits', () => {
    expect(fetchLimit({ jobs: 2, rows: 2 }, 4096, 1, 1024, 1)).toBe(1024); // capped at max
    expect(fetchLimit({ jobs: 3, rows: 30 }, 100, 10, 1024, 1)).toBe(10);
    expect(fetchLimit({ jobs: 1, rows: 8192 }, 16_384, 8192, 1024, 1)).toBe(2); // one chunk running, the next fetched
  });

  it('a budget already spent still lets the held jobs be held', () => {
    expect(fetchLimit({ jobs: 2, rows: 20_000 }, 16_384, 8192, 1024, 1)).toBe(2);
  });
});

describe('handsBack', () => {
  const budget = 16_384; // two chunks of 8,192 rows
  it('hands back a chunk fetched past the budget beside what is held (after small jobs, a streak fetched every chunk)', () => {
    expect(handsBack({ jobs: 11, rows: 10 + 8192 + 8192 }, 8192, budget)).toBe(true);
    expect(handsBack({ jobs: 1, rows: 8193 }, 8192, budget)).toBe(true);
  });
  it('keeps what fits: two chunks, many small jobs', () => {
    expect(handsBack({ jobs: 1, rows: 8192 }, 8192, budget)).toBe(false);
    expect(handsBack({ jobs: 500, rows: 1000 }, 1, budget)).toBe(false);
  });
  it('keeps any job when nothing is held, and one larger than half the budget (handed back, it could wait for as long as smaller jobs come)', () => {
    expect(handsBack({ jobs: 0, rows: 0 }, 100_000, budget)).toBe(false);
    expect(handsBack({ jobs: 3, rows: 9000 }, 8193, budget)).toBe(false);
  });
});
