import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_QUEUE_DELAY_MS } from './config.js';
import { findVersion, isModelFolder, loadRepository, MODEL_NAME, modelNameProblem, parseLabels, type Model } from './repository.js';

const MODELS = new URL('../../../../models/', import.meta.url).pathname;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'maas-repo-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Copies a shipped model (or one of its versions) into the temp repository. */
const copy = (from: string, to = from) => cp(join(MODELS, from), join(root, to), { recursive: true });
const write = async (rel: string, text: string) => {
  await mkdir(join(root, rel, '..'), { recursive: true });
  await writeFile(join(root, rel), text);
};
const model = (repo: { models: Map<string, Model> }, name: string): Model => {
  const m = repo.models.get(name);
  if (!m) throw new Error(`model ${name} not loaded`);
  return m;
};

describe('loadRepository', () => {
  describe('the shipped models', () => {
    it('loads every model with no problem and no warning', async () => {
      await cp(MODELS, root, { recursive: true });
      const repo = await loadRepository(root);
      expect(repo.root).toBe(root);
      expect(repo.problems).toEqual([]);
      expect(repo.warnings).toEqual([]);
      expect([...repo.models.keys()]).toEqual(['fixed', 'mlp', 'penguins']);
    });

    it('mlp: config applied, batchable, version path and signature', async () => {
      await copy('mlp');
      const mlp = model(await loadRepository(root), 'mlp');
      expect(mlp.config).toEqual({
        max_batch_size: 1024, max_queue_delay_ms: 2, preferred_batch_sizes: [], execution_providers: undefined,
        version_policy: { latest: 1 }, instances: 1, response_cache: false,
      });
      expect(mlp.labels).toBeUndefined();
      expect(mlp.versions).toHaveLength(1);
      expect(mlp.versions[0]).toEqual({
        model: 'mlp', version: 1, path: join(root, 'mlp', '1', 'model.onnx'),
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 32] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
        maxBatchSize: 1024, batchable: true, stamp: expect.stringMatching(/^\d+:[\d.]+:\d+$/),
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('digests by content: the same files elsewhere digest alike, another config or labels differ', async () => {
      await copy('mlp');
      const a = model(await loadRepository(root), 'mlp');
      const elsewhere = await mkdtemp(join(tmpdir(), 'maas-repo-'));
      try {
        await cp(join(root, 'mlp'), join(elsewhere, 'mlp'), { recursive: true });
        const b = model(await loadRepository(elsewhere), 'mlp');
        expect(b.versions[0]!.stamp).not.toBe(a.versions[0]!.stamp); // another inode
        expect(b.versions[0]!.digest).toBe(a.versions[0]!.digest);
        expect(b.digest).toBe(a.digest);
        await writeFile(join(elsewhere, 'mlp', 'labels.txt'), 'x\ny\n');
        expect(model(await loadRepository(elsewhere), 'mlp').digest).not.toBe(a.digest);
        await writeFile(join(elsewhere, 'mlp', 'config.json'), '{"max_batch_size": 8}');
        expect(model(await loadRepository(elsewhere), 'mlp').versions[0]!.digest).toBe(a.versions[0]!.digest);
      } finally {
        await rm(elsewhere, { recursive: true, force: true });
      }
    });

    it('penguins: latest 2 serves both versions newest first, labels parsed', async () => {
      await copy('penguins');
      const p = model(await loadRepository(root), 'penguins');
      expect(p.versions.map((v) => v.version)).toEqual([2, 1]);
      expect(p.labels).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
      expect(p.versions.every((v) => v.maxBatchSize === 256 && v.batchable)).toBe(true);
    });

    it('fixed: not batchable, maxBatchSize 0, defaults for the rest', async () => {
      await copy('fixed');
      const repo = await loadRepository(root);
      const f = model(repo, 'fixed');
      expect(f.config.max_batch_size).toBeUndefined();
      expect(f.config.max_queue_delay_ms).toBe(DEFAULT_MAX_QUEUE_DELAY_MS);
      expect(f.versions[0]).toMatchObject({ batchable: false, maxBatchSize: 0 });
      expect(repo.warnings).toEqual([]);
    });
  });

  describe('config and defaults', () => {
    it('the default version policy serves only the newest version', async () => {
      await copy('penguins');
      await write('penguins/config.json', '{}');
      const p = model(await loadRepository(root), 'penguins');
      expect(p.config.version_policy).toEqual({ latest: 1 });
      expect(p.versions.map((v) => v.version)).toEqual([2]);
    });

    it('a model without config.json gets every default', async () => {
      await copy('mlp/1', 'bare/1');
      const m = model(await loadRepository(root), 'bare');
      expect(m.config).toEqual({
        max_batch_size: undefined, max_queue_delay_ms: DEFAULT_MAX_QUEUE_DELAY_MS, preferred_batch_sizes: [],
        execution_providers: undefined, version_policy: { latest: 1 }, instances: 1, response_cache: false,
      });
      // 128-byte rows: runs of 1,024 (default-batch-size.ts)
      expect(m.versions[0]!.maxBatchSize).toBe(1024);
    });

    it('version_policy all and specific', async () => {
      await copy('penguins/1', 'a/1');
      await copy('penguins/2', 'a/2');
      await copy('penguins/2', 'a/10');
      await write('a/config.json', JSON.stringify({ version_policy: { all: true } }));
      await copy('penguins/1', 's/1');
      await copy('penguins/2', 's/2');
      await copy('penguins/2', 's/3');
      await write('s/config.json', JSON.stringify({ version_policy: { specific: [1, 3] } }));
      const repo = await loadRepository(root);
      expect(model(repo, 'a').versions.map((v) => v.version)).toEqual([10, 2, 1]);
      expect(model(repo, 's').versions.map((v) => v.version)).toEqual([3, 1]);
    });

    it('sorts preferred_batch_sizes and keeps execution providers and instances', async () => {
      await copy('mlp');
      await write('mlp/config.json', JSON.stringify({ preferred_batch_sizes: [32, 4, 16], execution_providers: ['cuda'], instances: 3 }));
      const m = model(await loadRepository(root), 'mlp');
      expect(m.config.preferred_batch_sizes).toEqual([4, 16, 32]);
      expect(m.config.execution_providers).toEqual(['cuda']);
      expect(m.config.instances).toBe(3);
    });

    it('max_batch_size 0 on a batchable model: served, maxBatchSize 0, no warning', async () => {
      await copy('mlp');
      await write('mlp/config.json', JSON.stringify({ max_batch_size: 0 }));
      const repo = await loadRepository(root);
      expect(model(repo, 'mlp').versions[0]).toMatchObject({ maxBatchSize: 0, batchable: true });
      expect(repo.warnings).toEqual([]);
    });

    it('fixed-batch model: max_batch_size from config is ignored (0) with a warning', async () => {
      await copy('fixed');
      await write('fixed/config.json', JSON.stringify({ max_batch_size: 8 }));
      const repo = await loadRepository(root);
      expect(model(repo, 'fixed').versions[0]).toMatchObject({ maxBatchSize: 0, batchable: false });
      expect(repo.warnings).toEqual(['fixed/1: first dimension is fixed, so max_batch_size 8 is ignored (0)']);
      expect(repo.problems).toEqual([]);
    });

    it('ignores folders that are not versions and versions without model.onnx', async () => {
      await copy('mlp/1', 'm/1');
      await copy('mlp/1', 'm/0');
      await copy('mlp/1', 'm/01');
      await copy('mlp/1', 'm/v2');
      await mkdir(join(root, 'm', '5'));
      await write('m/7/notes.txt', 'no model here');
      await write('m/9', 'a file, not a folder');
      await write('m/config.json', JSON.stringify({ version_policy: { all: true } }));
      const repo = await loadRepository(root);
      expect(model(repo, 'm').versions.map((v) => v.version)).toEqual([1]);
    });

    it('ignores files at the root', async () => {
      await copy('mlp');
      await write('README.md', '# models');
      const repo = await loadRepository(root);
      expect([...repo.models.keys()]).toEqual(['mlp']);
      expect(repo.problems).toEqual([]);
    });
  });

  describe('broken models', () => {
    it('reports each bad model and still serves the good ones', async () => {
      await copy('mlp');
      await copy('penguins');
      await copy('mlp', 'badjson');
      await write('badjson/config.json', '{"max_batch_size": 8,');
      await copy('mlp', 'unknownkey');
      await write('unknownkey/config.json', JSON.stringify({ max_batch_size: 8, batch_delay: 1 }));
      await write('noversion/config.json', '{}');
      await copy('mlp', 'missing');
      await write('missing/config.json', JSON.stringify({ version_policy: { specific: [1, 4, 9] } }));
      await copy('mlp', 'bad:name');
      await copy('mlp', 'negative');
      await write('negative/config.json', JSON.stringify({ max_batch_size: -4 }));
      await write('corrupt/1/model.onnx', 'not an onnx file');

      const repo = await loadRepository(root);
      expect([...repo.models.keys()].sort()).toEqual(['mlp', 'penguins']);
      expect(model(repo, 'penguins').versions.map((v) => v.version)).toEqual([2, 1]);
      const problem = (prefix: string) => {
        const found = repo.problems.filter((p) => p.startsWith(prefix));
        expect(found, `${prefix} in ${JSON.stringify(repo.problems)}`).toHaveLength(1);
        return found[0]!;
      };
      expect(problem('badjson/config.json is not valid JSON: ')).toBeTruthy();
      expect(problem('unknownkey/config.json: ')).toMatch(/batch_delay/);
      expect(problem('noversion:')).toBe('noversion: no <version>/model.onnx');
      expect(problem('missing:')).toBe('missing: version_policy names missing versions 4, 9');
      expect(problem('bad:name')).toBe("bad:name: model names use letters, digits, '.', '_' and '-', begin with a letter or digit, and do not end in '.'");
      expect(problem('negative/config.json: ')).toMatch(/max_batch_size/);
      expect(problem('corrupt/1/model.onnx: not a valid ONNX file')).toBeTruthy();
      expect(repo.problems).toHaveLength(7);
    });

    it('an output whose first dimension is named apart from the inputs\' rows runs alone, unless config.json sets max_batch_size', async () => {
      const onnxProto = (await import('onnx-proto')).default;
      const { onnx } = onnxProto;
      const info = (name: string, dims: (string | number)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } });
      const file = (out: (string | number)[]) => onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, graph: { input: [info('x', ['batch', 2])], output: [info('y', out)] } })).finish();
      for (const [name, out] of [['flat', ['n']], ['same', ['batch', 2]], ['told', ['n']]] as const) {
        await mkdir(join(root, name, '1'), { recursive: true });
        await writeFile(join(root, name, '1', 'model.onnx'), file([...out]));
      }
      await write('told/config.json', JSON.stringify({ max_batch_size: 8 }));
      const repo = await loadRepository(root);
      expect(model(repo, 'flat').versions[0]).toMatchObject({ batchable: false, maxBatchSize: 0 });
      expect(model(repo, 'same').versions[0]).toMatchObject({ batchable: true });
      expect(model(repo, 'told').versions[0]).toMatchObject({ batchable: true, maxBatchSize: 8 });
      expect(repo.warnings).toEqual([expect.stringMatching(/^flat\/1: an output's first dimension is named apart from the inputs' rows/)]);
    });

    it('a model whose ONNX uses an unsupported datatype is left out', async () => {
      // BF16 (elem_type 16) input: build the smallest ModelProto by hand
      const onnxProto = (await import('onnx-proto')).default;
      const { onnx } = onnxProto;
      const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({
        irVersion: 8,
        graph: { input: [{ name: 'h', type: { tensorType: { elemType: 16, shape: { dim: [{ dimParam: 'b' }] } } } }], output: [] },
      })).finish();
      await mkdir(join(root, 'half', '1'), { recursive: true });
      await writeFile(join(root, 'half', '1', 'model.onnx'), bytes);
      await copy('mlp');
      const repo = await loadRepository(root);
      expect([...repo.models.keys()]).toEqual(['mlp']);
      expect(repo.problems).toEqual(['half/1/model.onnx: h has ONNX elem_type 16, which the service does not support']);
    });

    it('a broken newest version leaves the previous one served and is reported unavailable with its reason', async () => {
      await copy('mlp');
      await copy('mlp/1', 'mlp/2');
      await write('mlp/3/model.onnx', 'garbage bytes');
      const mlp = model(await loadRepository(root), 'mlp');
      expect(mlp.versions.map((v) => v.version)).toEqual([2]);
      expect(mlp.unavailable).toEqual([{ version: 3, reason: expect.stringMatching(/^mlp\/3\/model\.onnx: not a valid ONNX file/) }]);
      expect(findVersion(mlp)?.version).toBe(2);
    });

    it('a version the check refuses is unavailable; the policy falls back, checking each candidate once', async () => {
      await copy('penguins');
      await copy('penguins/2', 'penguins/3');
      const checked: number[] = [];
      const repo = await loadRepository(root, async (_m, v) => {
        checked.push(v.version);
        if (v.version === 3) throw new Error('session cannot be created');
      });
      const p = model(repo, 'penguins');
      expect(p.versions.map((v) => v.version)).toEqual([2, 1]);
      expect(p.unavailable).toEqual([{ version: 3, reason: 'penguins/3: session cannot be created' }]);
      expect(checked).toEqual([3, 2, 1]);
    });

    it('a model none of whose candidate versions loads is left out, with the reasons', async () => {
      await copy('mlp');
      await write('mlp/config.json', JSON.stringify({ version_policy: { specific: [2] } }));
      await write('mlp/2/model.onnx', 'half a file');
      const repo = await loadRepository(root);
      expect(repo.models.size).toBe(0);
      expect(repo.failed.get('mlp')).toMatch(/^mlp\/2\/model\.onnx: not a valid ONNX file/);
    });

    it('throws when the repository folder cannot be read', async () => {
      await expect(loadRepository(join(root, 'nope'))).rejects.toThrow(/model repository .*nope cannot be read/);
    });

    it('an empty repository loads no model and no problem', async () => {
      const repo = await loadRepository(root);
      expect(repo.models.size).toBe(0);
      expect(repo.problems).toEqual([]);
    });
  });
});

describe('isModelFolder', () => {
  it('holds only a folder of exactly that name: never another case of it (macOS and Windows ignore case), nor a file', async () => {
    await copy('mlp');
    await write('notes', 'a file');
    expect(await isModelFolder(root, 'mlp')).toBe(true);
    expect(await isModelFolder(root, 'MLP')).toBe(false);
    expect(await isModelFolder(root, 'Mlp')).toBe(false);
    expect(await isModelFolder(root, 'notes')).toBe(false);
    expect(await isModelFolder(root, 'absent')).toBe(false);
    expect(await isModelFolder(join(root, 'no-such-root'), 'mlp')).toBe(false);
  });
  it("takes the caller's listing of the repository instead of reading it again", async () => {
    await copy('mlp');
    expect(await isModelFolder(root, 'mlp', ['mlp'])).toBe(true);
    expect(await isModelFolder(root, 'mlp', ['penguins'])).toBe(false);
  });
});

describe('findVersion', () => {
  it('finds the requested version, or the newest served when none is named', async () => {
    await copy('penguins');
    const p = model(await loadRepository(root), 'penguins');
    expect(findVersion(p)?.version).toBe(2);
    expect(findVersion(p, 1)?.version).toBe(1);
    expect(findVersion(p, 3)).toBeUndefined();
  });

  it('a version on disk but not served is not found', async () => {
    await copy('penguins');
    await write('penguins/config.json', '{}');
    const p = model(await loadRepository(root), 'penguins');
    expect(findVersion(p, 1)).toBeUndefined();
  });
});

describe('parseLabels', () => {
  it('one label a line, trimmed, trailing blank lines dropped', () => {
    expect(parseLabels('cat\ndog \r\n  bird\n\n\n')).toEqual(['cat', 'dog', 'bird']);
  });

  it('keeps blank lines in the middle so indexes stay aligned', () => {
    expect(parseLabels('a\n\nc\n')).toEqual(['a', '', 'c']);
  });

  it('empty text gives no labels', () => {
    expect(parseLabels('')).toEqual([]);
    expect(parseLabels('\n\n')).toEqual([]);
  });
});

describe('MODEL_NAME', () => {
  it('accepts letters, digits, dot, underscore and dash', () => {
    for (const n of ['mlp', 'Penguins_v2', 'a.b-c', '9lives', 'x'.repeat(64), 'a', 'a_', 'a-', 'a.b']) expect(MODEL_NAME.test(n), n).toBe(true);
  });

  it("rejects names that would break queue keys or paths, or that Windows would open as another (a trailing '.')", () => {
    for (const n of ['a:b', '.hidden', '-x', '_x', 'a b', 'a/b', '', 'x'.repeat(65), 'mlp.', 'a..']) expect(MODEL_NAME.test(n), n).toBe(false);
  });

  it('modelNameProblem also refuses a name a route takes (stats: /v2/models/stats)', () => {
    expect(modelNameProblem('mlp')).toBeUndefined();
    expect(modelNameProblem('stats')).toMatch(/taken by \/v2\/models\/stats/);
    expect(modelNameProblem('Stats')).toMatch(/taken/); // express matches paths regardless of case
    expect(modelNameProblem('a b')).toMatch(/letters, digits/);
  });
});
