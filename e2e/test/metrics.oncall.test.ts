/**
 * What on-call reads from `/metrics` (README "Alerts worth having"), on a real cluster: a model
 * no worker serves (`maas_model_workers` 0) while its jobs wait, their oldest's age growing
 * (`maas_queue_oldest_job_age_seconds`), back to 0 once a worker serving it has drained them; a
 * tenant refused over its quota, by reason and tenant name (`maas_requests_refused_total`); and
 * a job the API expires at its `timeout_ms` while no worker serves its model
 * (`maas_jobs_expired_total`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually } from '../src/harness/index.js';

const KEYS = { alpha: 'key-alpha', beta: 'key-beta' };
const QUOTA = 3;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 0,
    api: { API_KEYS: Object.entries(KEYS).map(([t, k]) => `${t}:${k}`).join(','), QUOTA_QUEUED_ROWS: String(QUOTA) },
  });
  await cluster.startWorker({ WORKER_MODELS: 'mlp' }); // a worker, but none for penguins
});
afterAll(async () => {
  await cluster?.stop();
});

interface Sample { labels: Record<string, string>; value: number }

/** The samples of metric `name` in one scrape. */
async function scrape(name: string): Promise<Sample[]> {
  const text = (await call(cluster.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${KEYS.alpha}` })).body as string;
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => ({
    labels: Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!])),
    value: Number(m[2]),
  }));
}
const of = (samples: Sample[], labels: Record<string, string>) =>
  samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

const api = (key: string, body: unknown) => call(cluster.url, 'POST', '/v1/jobs', body, { authorization: `Bearer ${key}` });
const penguin = (extra: Record<string, unknown> = {}) => ({
  model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [[39, 18, 181, 3750]] }], ...extra,
});

describe('/metrics for on-call', () => {
  it('shows 0 workers for a model no worker serves, and its oldest queued job aging', async () => {
    const workers = await eventually(() => scrape('maas_model_workers'), (s) => of(s, { model: 'mlp' }).some((x) => x.value === 1), { what: 'the mlp worker counted' });
    const penguins = of(workers, { model: 'penguins' });
    expect(penguins.map((s) => s.labels['version']).sort()).toEqual(['1', '2']); // every served version has a sample
    expect(penguins.every((s) => s.value === 0)).toBe(true);
    expect(of(await scrape('maas_queue_oldest_job_age_seconds'), { model: 'penguins' }).every((s) => s.value === 0)).toBe(true);

    for (let i = 0; i < 2; i++) expect((await api(KEYS.alpha, penguin())).status).toBe(202);
    const oldest = async () => Math.max(...of(await scrape('maas_queue_oldest_job_age_seconds'), { model: 'penguins' }).map((s) => s.value));
    const first = await eventually(oldest, (age) => age > 0, { what: 'an age for the queued penguins jobs' });
    await eventually(oldest, (age) => age >= first + 1, { what: 'the age growing', ms: 10_000 });
    expect(of(await scrape('maas_model_workers'), { model: 'penguins' }).every((s) => s.value === 0)).toBe(true);
  });

  it('counts a tenant refused over its quota by reason and tenant name, never by key', async () => {
    expect((await api(KEYS.alpha, penguin())).status).toBe(202); // its third row: at the quota
    const over = await api(KEYS.alpha, penguin());
    expect(over.status).toBe(429);
    expect(over.body.type).toBe('urn:maas:problem:quota-exceeded');
    const refused = await scrape('maas_requests_refused_total');
    expect(of(refused, { reason: 'quota-exceeded', tenant: 'alpha' }).map((s) => s.value)).toEqual([1]);
    expect(refused.every((s) => s.labels['tenant'] !== KEYS.alpha && s.labels['tenant'] !== 'beta')).toBe(true);
  });

  it('counts a job the API expires at its timeout_ms while no worker serves its model', async () => {
    expect((await api(KEYS.beta, penguin({ timeout_ms: 200 }))).status).toBe(202);
    await eventually(() => scrape('maas_jobs_expired_total'), (s) => of(s, { model: 'penguins' }).some((x) => x.value === 1), { what: 'the expiry counted' });
  });

  it('shows the worker that serves the model, and the age back to 0 once it has drained the queue', async () => {
    await cluster.startWorker({ WORKER_MODELS: 'penguins' });
    await eventually(
      async () => ({ workers: of(await scrape('maas_model_workers'), { model: 'penguins' }), ages: of(await scrape('maas_queue_oldest_job_age_seconds'), { model: 'penguins' }) }),
      ({ workers, ages }) => workers.length === 2 && workers.every((s) => s.value === 1) && ages.length === 2 && ages.every((s) => s.value === 0),
      { what: 'one worker for each penguins version and nothing queued', context: () => cluster.logs() },
    );
  });
});
