import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { RepositoryPoller } from './poller.js';
import type { ModelChange } from './scan.js';

const log = createLogger('test');
log.level = 'silent';

describe('RepositoryPoller.poll (one period each)', () => {
  let root: string;
  let seen: ModelChange[][];
  const record = async (c: ModelChange[]) => {
    seen.push(c);
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-poll-'));
    await mkdir(join(root, 'm/1'), { recursive: true });
    await writeFile(join(root, 'm/1/model.onnx'), 'v1');
    seen = [];
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('hands a new version over once it looked the same for a whole period, and only once', async () => {
    const poller = await RepositoryPoller.baseline(root, 1000, log);
    await poller.poll(record);
    expect(seen).toEqual([]);
    await mkdir(join(root, 'm/2'));
    await writeFile(join(root, 'm/2/model.onnx'), 'half');
    await poller.poll(record); // first sight: maybe still being copied
    await writeFile(join(root, 'm/2/model.onnx'), 'half and the rest');
    await poller.poll(record); // it grew: still not taken
    expect(seen).toEqual([]);
    await poller.poll(record); // unchanged for a period: taken
    expect(seen).toEqual([[expect.objectContaining({ model: 'm', kind: 'changed', added: [2] })]]);
    await poller.poll(record);
    expect(seen).toHaveLength(1);
  });

  it('a handler that fails gets the same change again next period', async () => {
    const poller = await RepositoryPoller.baseline(root, 1000, log);
    await cp(join(root, 'm'), join(root, 'n'), { recursive: true });
    await poller.poll(record);
    await poller.poll(async () => Promise.reject(new Error('redis away')));
    await poller.poll(record);
    expect(seen).toEqual([[expect.objectContaining({ model: 'n', kind: 'added', added: [1] })]]);
  });

  it('a model folder removed is handed over once it stayed gone for a period', async () => {
    const poller = await RepositoryPoller.baseline(root, 1000, log);
    await rm(join(root, 'm'), { recursive: true });
    await poller.poll(record);
    expect(seen).toEqual([]);
    await poller.poll(record);
    expect(seen).toEqual([[expect.objectContaining({ model: 'm', kind: 'removed', removed: [1] })]]);
  });
});
