/**
 * deploy/k8s, checked offline: every document parses, validates against the Kubernetes API
 * schemas (kubernetes-models: the upstream OpenAPI schemas compiled to validators; KEDA's CRDs
 * from @kubernetes-models/keda), and carries what an operator relies on (probes on the health
 * routes, resource requests, disruption budgets, a drain that fits the grace period, scaling to
 * zero on a metric the API really exports, pinned images) and the environment each container
 * gets passes that service's own config check. No cluster is contacted: unknown fields (which
 * a server's strict field validation would reject) are not caught by the schemas.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, 'deploy/k8s');

type Doc = Record<string, any>;
const MODELS: Record<string, new (d: any) => { validate(): void }> = {
  'v1/Namespace': Namespace, 'v1/ConfigMap': ConfigMap, 'v1/Secret': Secret, 'v1/Service': Service,
  'apps/v1/Deployment': Deployment, 'apps/v1/StatefulSet': StatefulSet, 'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject, 'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

function load(): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const d of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      expect(d.errors, file).toEqual([]);
      out.push({ file, doc: d.toJS() as Doc });
    }
  }
  return out;
}

const docs = load();
const find = (kind: string, name: string) => docs.find((d) => d.doc['kind'] === kind && d.doc['metadata']?.name === name)?.doc as Doc;

describe('deploy/k8s', () => {
  it('holds only kinds we can validate, each valid against its schema', () => {
    expect(docs.length).toBeGreaterThan(8);
    for (const { file, doc } of docs) {
      const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
      expect(Model, `${file}: ${doc['apiVersion']} ${doc['kind']}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc['kind']} ${doc['metadata']?.name}`).not.toThrow();
    }
  });

  it('lists every file in the kustomization, and every object sits in the maas namespace', () => {
    const k = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Doc;
    expect([...k['resources']].sort()).toEqual([...new Set(docs.map((d) => d.file))].sort());
    for (const { doc } of docs) if (doc['kind'] !== 'Namespace') expect(doc['metadata'].namespace).toBe('maas');
  });

  it('probes the API on its health routes and the workers on their health port, and requests resources for every container', () => {
    const api = find('Deployment', 'maas-api')['spec'].template.spec.containers[0];
    expect(api.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    expect(api.livenessProbe.httpGet.path).toBe('/v2/health/live');
    const worker = find('Deployment', 'maas-worker')['spec'].template.spec.containers[0];
    const env = Object.fromEntries((worker.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    const health = (worker.ports as { name: string; containerPort: number }[]).find((p) => p.name === 'health')!;
    expect(String(health.containerPort)).toBe(env['WORKER_HEALTH_PORT']);
    expect(env['WORKER_HEALTH_HOST']).toBe('0.0.0.0'); // the kubelet probes the pod's address
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'health' });
    expect(worker.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(worker.startupProbe.httpGet).toEqual({ path: '/startedz', port: 'health' });
    for (const w of docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.doc['kind']))) {
      for (const c of w.doc['spec'].template.spec.containers) {
        expect(c.resources?.requests?.cpu, `${w.doc['metadata'].name}/${c.name}`).toBeDefined();
        expect(c.resources?.requests?.memory, `${w.doc['metadata'].name}/${c.name}`).toBeDefined();
      }
    }
  });

  it('protects API and workers with disruption budgets and gives the drain time', () => {
    for (const name of ['maas-api', 'maas-worker']) {
      const pdb = find('PodDisruptionBudget', name);
      const deploy = find('Deployment', name);
      expect(pdb['spec'].selector.matchLabels).toEqual(deploy['spec'].selector.matchLabels);
    }
    // a worker drains what it holds (four runs' or two chunks' rows: seconds for the shipped models); killed sooner, its jobs run again elsewhere, each interruption counted
    expect(find('Deployment', 'maas-worker')['spec'].template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    const api = find('Deployment', 'maas-api')['spec'].template.spec;
    // the preStop pause, SHUTDOWN_GRACE_S (open requests; the container's value, else 30), then up to
    // 10 s for a Redis that does not answer (API_DRAIN_REDIS_WAIT_MS) and a second to exit
    const grace = Number(api.containers[0].env?.find((e: Doc) => e['name'] === 'SHUTDOWN_GRACE_S')?.value ?? 30);
    expect(api.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + grace + 10 + 1);
  });

  it('scales workers to zero and back on the metrics the API exports: inference jobs and webhook deliveries', () => {
    const so = find('ScaledObject', 'maas-worker')['spec'];
    expect(so.scaleTargetRef.name).toBe('maas-worker');
    expect(so.minReplicaCount).toBe(0);
    const metricsSource = readFileSync(join(ROOT, 'apps/api/src/metrics.ts'), 'utf8');
    expect(so.triggers.map((t: Doc) => t['metadata'].valueLocation)).toEqual(['maas_queue_backlog', 'maas_webhook_backlog']);
    for (const trigger of so.triggers) {
      expect(trigger.type).toBe('metrics-api');
      expect(trigger.metadata.url).toMatch(/^http:\/\/maas-api\.maas\.svc:8080\/metrics$/);
      expect(metricsSource).toContain(`name: '${trigger.metadata.valueLocation}'`);
      expect(trigger.metadata.activationTargetValue).toBe('0'); // one job or delivery starts a worker
      expect(find('TriggerAuthentication', trigger.authenticationRef.name)).toBeDefined();
    }
  });

  it('gives the workers and the API the same Redis and retention, and the keys to the API alone', () => {
    const envFrom = (name: string) => find('Deployment', name)['spec'].template.spec.containers[0].envFrom.map((e: Doc) => e['configMapRef']?.name ?? e['secretRef']?.name);
    expect(envFrom('maas-api')).toEqual(['maas-config', 'maas-secrets']);
    expect(envFrom('maas-worker')).toEqual(['maas-config']);
    expect(find('ConfigMap', 'maas-config')['data'].REDIS_URL).toBe('redis://maas-redis:6379');
  });

  it('runs pinned images, not a moving tag a node may hold an old copy of', () => {
    const k = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Doc;
    const tags = new Map<string, string>(k['images'].map((i: Doc) => [i['name'], i['newTag']]));
    for (const w of docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.doc['kind']))) {
      for (const c of w.doc['spec'].template.spec.containers) {
        const [name, tag] = String(c.image).split(':');
        const pinned = tags.get(name!) ?? tag;
        expect(pinned, `${w.doc['metadata'].name}/${c.name}: ${c.image}`).toBeDefined();
        expect(pinned, `${w.doc['metadata'].name}/${c.name}: ${c.image}`).not.toBe('latest');
      }
    }
    const version = (JSON.parse(readFileSync(join(ROOT, 'apps/api/package.json'), 'utf8')) as Doc)['version'];
    expect(tags.get('maas-api')).toBe(version);
    expect(tags.get('maas-worker')).toBe(version);
  });

  it("gives each service an environment its own config check accepts (the Secret's placeholders replaced)", async () => {
    const config = find('ConfigMap', 'maas-config')['data'] as Record<string, string>;
    const secret = Object.fromEntries(Object.entries(find('Secret', 'maas-secrets')['stringData'] as Record<string, string>)
      .map(([k, v]) => [k, v.replace(/CHANGE-ME-/g, 'set-by-the-operator-')]));
    const envOf = (name: string): Record<string, string> => {
      const c = find('Deployment', name)['spec'].template.spec.containers[0];
      const from = Object.assign({}, ...c.envFrom.map((e: Doc) => (e['configMapRef'] ? config : secret)));
      const own = Object.fromEntries(c.env.map((e: Doc) => [e['name'], e['value'] ?? `${name}-0`])); // valueFrom: a pod name
      return { ...from, ...own };
    };
    // The services' config modules, as their processes load them (paths kept out of tsc's reach).
    const load = async (service: string) => ((await import(join(ROOT, `apps/${service}/src/config.ts`))) as { loadConfig(env: Record<string, string>): Doc }).loadConfig;
    const api = (await load('api'))(envOf('maas-api'));
    expect([...(api['API_KEYS'] as Map<string, string>).values()]).toEqual(['team-a', 'team-b']);
    const ports = find('Deployment', 'maas-api')['spec'].template.spec.containers[0].ports as Doc[];
    expect(ports.map((p) => p['containerPort'])).toEqual([api['PORT'], api['GRPC_PORT']]);
    const worker = (await load('worker'))(envOf('maas-worker'));
    expect(worker['REDIS_URL']).toEqual(api['REDIS_URL']);
    // and the Secret as shipped is refused, so an unedited one never serves
    const shipped = find('Secret', 'maas-secrets')['stringData'] as Record<string, string>;
    await expect(load('api').then((f) => f({ ...envOf('maas-api'), ...shipped }))).rejects.toThrow(/CHANGE-ME placeholder/);
  });
});
