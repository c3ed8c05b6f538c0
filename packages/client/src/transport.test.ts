import { describe, expect, it } from 'vitest';
import { MaasClient } from './client.js';
import { MaasProtocolError } from './errors.js';

/** A client whose every request is answered 200 with `body` (another service on the port, a proxy's page). */
const answering = (body: unknown) =>
  new MaasClient({
    baseUrl: 'http://maas.test',
    retry: false,
    fetch: (async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })) as typeof fetch,
  });

describe('a 2xx JSON answer that is not what the contract says', () => {
  it('is a MaasProtocolError naming what was expected, for every resource (not a TypeError later)', async () => {
    const maas = answering({});
    const calls: [Promise<unknown>, RegExp][] = [
      [maas.jobs.get('j1'), /not a job object/],
      [maas.jobs.create({ model: 'm', inputs: [] }), /not a job object/],
      [maas.jobs.cancel('j1'), /not a job object/],
      [maas.batches.get('b1'), /not a batch object/],
      [maas.batches.cancel('b1'), /not a batch object/],
      [maas.batches.list(), /not a list object/],
      [maas.models.list(), /not a model list/],
      [maas.models.get('m'), /not model metadata/],
      [maas.infer('m', []), /not an inference answer/],
      [maas.webhookSecret(), /not a webhook secret/],
    ];
    for (const [call, message] of calls) {
      const err = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaasProtocolError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('lets the real shapes through', async () => {
    expect(await answering({ object: 'job', id: 'j1', status: 'queued' }).jobs.get('j1')).toMatchObject({ id: 'j1' });
    expect(await answering({ object: 'list', data: [], has_more: false }).batches.list()).toMatchObject({ object: 'list' });
    expect(await answering({ object: 'list', models: [] }).models.list()).toEqual([]);
  });
});
