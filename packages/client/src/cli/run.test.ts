import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../npy.js';
import type { Io, OutStream } from './io.js';
import { COMMANDS, runCli } from './run.js';

/** A writable that keeps what it is given. */
function sink(isTTY = false): OutStream & { text: string } {
  const s = {
    text: '',
    isTTY,
    columns: 120,
    write(chunk: string | Uint8Array) {
      s.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    },
    on() {
      return s;
    },
    once() {
      return s;
    },
    removeListener() {
      return s;
    },
  };
  return s as unknown as OutStream & { text: string };
}

type Route = (req: { method: string; url: URL; headers: Headers; body: string; bytes: Buffer }) => Response | Promise<Response>;

function io(route?: Route, env: Record<string, string> = {}): Io & { stdout: { text: string }; stderr: { text: string } } {
  const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
    if (!route) throw new Error('no network in this test');
    const bytes = init?.body instanceof ReadableStream ? Buffer.from(await new Response(init.body).arrayBuffer()) : Buffer.from(typeof init?.body === 'string' ? init.body : '');
    return route({ method: init?.method ?? 'GET', url: new URL(String(input)), headers: new Headers(init?.headers as Record<string, string>), body: bytes.toString('utf8'), bytes });
  }) as typeof fetch;
  return {
    stdout: sink(),
    stderr: sink(),
    stdin: Readable.from([]),
    env,
    signal: new AbortController().signal,
    fetch: fetchStub,
  } as Io & { stdout: { text: string }; stderr: { text: string } };
}

const json = (status: number, body: unknown, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

describe('help and usage errors (no server needed)', () => {
  it('prints the overview with --help (exit 0), or on stderr without a command (exit 2)', async () => {
    const a = io();
    expect(await runCli(['--help'], a)).toBe(0);
    expect(a.stdout.text).toMatch(/^maas: command line/);
    for (const c of COMMANDS) expect(a.stdout.text).toContain(`  ${c.name}`);
    const b = io();
    expect(await runCli([], b)).toBe(2);
    expect(b.stderr.text).toMatch(/Usage: maas <command>/);
  });

  it('prints its version with --version', async () => {
    const x = io();
    expect(await runCli(['--version'], x)).toBe(0);
    expect(x.stdout.text).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = io();
    await runCli(['--help'], help);
    expect(help.stdout.text).toMatch(/--version +print this client's version/);
  });

  it('--version is the client\'s in "maas --version" alone: a command without its own --version refuses it, one with it lists only its own', async () => {
    const list = io();
    expect(await runCli(['batch', 'list', '--version'], list)).toBe(2);
    expect(list.stderr).toMatchObject({ text: expect.stringMatching(/Unknown option '--version'[\s\S]*maas batch list --help/) });
    expect(list.stdout.text).toBe('');
    const submit = io();
    expect(await runCli(['batch', 'submit', 'f', '--model', 'm', '--version'], submit)).toBe(2);
    expect(submit.stderr.text).toMatch(/--version <value>' argument missing/);
    const help = io();
    expect(await runCli(['batch', 'submit', '--help'], help)).toBe(0);
    expect(help.stdout.text.match(/--version/g)).toEqual(['--version', '--version']); // the usage line and the model version's line
    expect(help.stdout.text).not.toContain("client's version");
    const models = io();
    await runCli(['models', '--help'], models);
    expect(models.stdout.text).not.toContain('--version');
  });

  it('has --help for every command and group', async () => {
    for (const c of COMMANDS) {
      const x = io();
      expect(await runCli([...c.name.split(' '), '--help'], x)).toBe(0);
      expect(x.stdout.text).toContain(`Usage: maas ${c.name} ${c.usage}`);
      for (const name of Object.keys(c.options ?? {})) expect(x.stdout.text).toContain(`--${name}`);
    }
    const g = io();
    expect(await runCli(['batch', '-h'], g)).toBe(0);
    expect(g.stdout.text).toContain('batch submit');
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['jobs'], /"maas jobs" needs a command: create, get, cancel/],
    [['jobs', 'get'], /missing argument: maas jobs get ID/],
    [['jobs', 'get', 'a', 'b'], /unexpected argument "b"/],
    [['jobs', 'get', 'a', '--wait', 'soon'], /--wait must be a number of seconds/],
    [['jobs', 'get', 'a', '--colour'], /unknown option --colour[\s\S]*maas jobs get --help/],
    [['jobs', 'get', 'a', '--model', 'm'], /Unknown option '--model'/],
    [['batch', 'submit', 'x.ndjson'], /--model is required/],
    [['jobs', 'create', '--model', 'm'], /--data FILE or --input/],
    [['models', '--url', 'ftp://host'], /--url must be an http\(s\) URL/],
    [['batch', 'submit', '/nonexistent/rows.ndjson', '--model', 'm'], /cannot read \/nonexistent\/rows\.ndjson: no such file/],
    [['batch', 'submit', tmpdir(), '--model', 'm'], /is a directory: name a file/],
    [['batch', 'results', 'b_1', '--npy', '--failed'], /--failed gives NDJSON lines/],
    [['batch', 'results', 'b_1', '--output', 'label'], /--output names the array of --npy/],
    [['batch', 'submit', 'x.ndjson', '--model', 'm', '--out', '-'], /--out - : to write the results to stdout, run "maas batch results ID"/],
    [['batch', 'wait', 'b_1', '--out', '-'], /--out - : to write the results to stdout/],
    // --out is checked before any request (the stub has no network): not after following a batch for hours.
    [['batch', 'wait', 'b_1', '--out', '/nonexistent/x'], /--out \/nonexistent\/x: no such directory \/nonexistent/],
    [['batch', 'results', 'b_1', '--out', '/nonexistent/x'], /--out \/nonexistent\/x: no such directory \/nonexistent/],
    [['batch', 'wait', 'b_1', '--out', tmpdir()], /is a directory: name a file in it/],
    [['batch', 'results', 'b_1', '--out', tmpdir()], /is a directory: name a file in it/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const x = io();
    expect(await runCli(argv, x)).toBe(2);
    expect(x.stderr.text).toMatch(message);
    expect(x.stdout.text).toBe('');
  });
});

describe('commands against a stub API', () => {
  it('jobs get prints the job as JSON, with the key and URL from the environment', async () => {
    let seen: { url: URL; headers: Headers } | undefined;
    const x = io((req) => {
      seen = req;
      return json(200, { id: 'job_1', object: 'job', status: 'succeeded' });
    }, { MAAS_URL: 'http://api.example:9000', MAAS_API_KEY: 'k' });
    expect(await runCli(['jobs', 'get', 'job_1', '--wait', '5'], x)).toBe(0);
    expect(JSON.parse(x.stdout.text)).toEqual({ id: 'job_1', object: 'job', status: 'succeeded' });
    expect(seen!.url.href).toBe('http://api.example:9000/v1/jobs/job_1?wait=5');
    expect(seen!.headers.get('authorization')).toBe('Bearer k');
  });

  it('a job printed as failed or canceled exits 1 (the work failed), after printing it', async () => {
    for (const status of ['failed', 'canceled']) {
      const x = io(() => json(200, { id: 'job_1', object: 'job', status }));
      expect(await runCli(['jobs', 'get', 'job_1', '--wait', '5'], x)).toBe(1);
      expect(JSON.parse(x.stdout.text)).toMatchObject({ status });
    }
    const running = io(() => json(200, { id: 'job_1', object: 'job', status: 'running' }));
    expect(await runCli(['jobs', 'get', 'job_1'], running)).toBe(0);
  });

  it('--url and --api-key win over the environment', async () => {
    let seen: { url: URL; headers: Headers } | undefined;
    const x = io((req) => {
      seen = req;
      return json(200, { models: [] });
    }, { MAAS_URL: 'http://env:1', MAAS_API_KEY: 'env' });
    expect(await runCli(['models', '--url', 'http://flag:2', '--api-key', 'flag'], x)).toBe(0);
    expect(seen!.url.origin).toBe('http://flag:2');
    expect(seen!.headers.get('authorization')).toBe('Bearer flag');
    expect(x.stderr.text).toBe('no models in the repository\n');
  });

  it('batch results --npy: the API\'s "?output=" is told as --output', async () => {
    const x = io(() => json(406, { type: 'urn:maas:problem:not-acceptable', title: 'Not acceptable', status: 406, detail: 'name one of the outputs label, probabilities with ?output=… for .npy results' }, 'application/problem+json'));
    expect(await runCli(['batch', 'results', 'b_1', '--npy'], x)).toBe(1);
    expect(x.stderr.text).toBe('error: Not acceptable: name one of the outputs label, probabilities with --output NAME for .npy results\n');
  });

  it('an API error: message on stderr, exit 1', async () => {
    const x = io(() => json(404, { type: 'urn:maas:problem:not-found', title: 'Not found', status: 404, detail: "job 'j' not found" }, 'application/problem+json'));
    expect(await runCli(['jobs', 'cancel', 'j'], x)).toBe(1);
    expect(x.stderr.text).toBe("error: Not found: job 'j' not found\n");
  });

  it('a MAAS_URL that is no http(s) URL is named as MAAS_URL (exit 2), a --url one as --url', async () => {
    const env = io(undefined, { MAAS_URL: 'localhost:7610' });
    expect(await runCli(['models'], env)).toBe(2);
    expect(env.stderr.text).toMatch(/^error: MAAS_URL must be an http\(s\) URL, not "localhost:7610"/);
    const flag = io(undefined, { MAAS_URL: 'http://fine:1' });
    expect(await runCli(['models', '--url', 'ftp://x'], flag)).toBe(2);
    expect(flag.stderr.text).toMatch(/^error: --url must be an http\(s\) URL/);
  });

  it('rides out 503s (a Redis restart) longer than the SDK\'s two retries', async () => {
    let calls = 0;
    const x = io(() => (++calls <= 5
      ? new Response(JSON.stringify({ type: 'urn:maas:problem:redis-unavailable', title: 'Redis unavailable', status: 503, detail: 'retry later' }), { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '0' } })
      : json(200, { models: [] })));
    expect(await runCli(['models'], x)).toBe(0);
    expect(calls).toBe(6); // five 503s, then the answer
  });

  it('connection refused: says to start the API', async () => {
    const x = io(() => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    expect(await runCli(['models'], x)).toBe(1);
    expect(x.stderr.text).toBe('error: cannot reach http://127.0.0.1:8080: is the API running? (npm start)\n');
  });

  it('a key in --url is sent by Basic auth and never printed', async () => {
    let auth: string | null = null;
    const x = io((req) => {
      auth = req.headers.get('authorization');
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    expect(await runCli(['models', '--url', 'http://me:S3CRET@127.0.0.1:8080'], x)).toBe(1);
    expect(auth).toBe(`Basic ${Buffer.from('me:S3CRET').toString('base64')}`);
    expect(x.stderr.text).toBe('error: cannot reach http://127.0.0.1:8080: is the API running? (npm start)\n');
    const bad = io();
    expect(await runCli(['models', '--url', 'ftp://me:S3CRET@h'], bad)).toBe(2);
    expect(bad.stderr.text).not.toContain('S3CRET');
  });

  it('the API closing the connection mid-answer: says it was reached, and lost', async () => {
    const x = io(() => {
      throw Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    });
    expect(await runCli(['models'], x)).toBe(1);
    expect(x.stderr.text).toBe('error: lost the connection to http://127.0.0.1:8080: the API closed the connection mid-answer (did it restart?)\n');
  });

  it('Ctrl-C during jobs create --wait: exit 130, with the Idempotency-Key that picks the job up', async () => {
    const ac = new AbortController();
    const keys: (string | null)[] = [];
    // The answer never comes; the request ends when it is aborted, as fetch's does.
    const hangs = ((_input: string | URL | Request, init?: RequestInit) => {
      keys.push(new Headers(init?.headers as Record<string, string>).get('idempotency-key'));
      setTimeout(() => ac.abort(new Error('SIGINT')), 10);
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)));
    }) as typeof fetch;
    const x = { ...io(), fetch: hangs, signal: ac.signal };
    const code = await runCli(['jobs', 'create', '--data', '-', '--wait', '30'], { ...x, stdin: Readable.from([JSON.stringify({ model: 'm', inputs: [] })]) });
    expect(code).toBe(130);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^maas-cli-[0-9a-f-]{36}$/);
    expect(x.stderr.text).toBe(`interrupted: the job may have been queued; the same command with --idempotency-key ${keys[0]} prints it (while the server keeps the job) instead of queuing another\n`);
  });

  it('infer builds tensors from --input with the model metadata', async () => {
    const bodies: string[] = [];
    const x = io((req) => {
      if (req.method === 'GET') return json(200, { name: 'penguins', versions: ['2'], platform: 'onnx', inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }], outputs: [] });
      bodies.push(req.body);
      return new Response(JSON.stringify({ model_name: 'penguins', model_version: '2', id: 'j', outputs: [] }), { headers: { 'content-type': 'application/json', 'x-job-id': 'job_9' } });
    });
    expect(await runCli(['infer', 'penguins', '--input', 'features=[1,2,3,4]', '--output', 'probabilities:2'], x)).toBe(0);
    expect(JSON.parse(bodies[0]!)).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      outputs: [{ name: 'probabilities', parameters: { classification: 2 } }],
    });
    expect(JSON.parse(x.stdout.text)).toMatchObject({ model_name: 'penguins', job_id: 'job_9' });
  });

  describe('batch submit', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'maas-cli-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('uploads the file, prints the id, follows progress, downloads the results', async () => {
      const file = join(dir, 'rows.ndjson');
      const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { features: [i, i, i, i] } }));
      await writeFile(file, lines.join('\n') + '\n');
      let uploaded = '';
      let polls = 0;
      const batch = (status: string, done: number) => ({ id: 'batch_1', object: 'batch', model: 'penguins', version: '2', status, counts: { total: 50, succeeded: done, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: null });
      const x = io((req) => {
        if (req.method === 'POST') {
          uploaded = req.body;
          expect(req.headers.get('content-type')).toBe('application/x-ndjson');
          expect(req.url.search).toBe('?model=penguins');
          return json(202, batch('queued', 0));
        }
        if (req.url.pathname === '/v1/batches/batch_1') return json(200, ++polls < 2 ? batch('running', 25) : batch('succeeded', 50));
        return new Response(lines.map((l) => l.replace(/"inputs".*/, '"outputs":{"label":[0]}}')).join('\n') + '\n', { headers: { 'content-type': 'application/x-ndjson' } });
      });
      const out = join(dir, 'results.ndjson');
      expect(await runCli(['batch', 'submit', file, '--model', 'penguins', '--out', out], x)).toBe(0);
      expect(uploaded).toBe(lines.join('\n') + '\n');
      expect(x.stdout.text).toBe('batch_1\n');
      expect(x.stderr.text).toMatch(/^uploading rows\.ndjson \[#{10}\] 100% 2\.8 kB\/2\.8 kB\n/);
      expect(x.stderr.text).toContain('batch batch_1: 50 lines');
      expect(x.stderr.text).toMatch(/batch_1 running \[#####-----\] 50% 25\/50 lines/);
      expect(x.stderr.text).toMatch(/batch batch_1 succeeded in \d+s: 50 lines succeeded, 0 failed/);
      expect(x.stderr.text).toContain(`wrote 50 result lines`);
      expect((await readFile(out, 'utf8')).split('\n')).toHaveLength(51);
    });

    it('Ctrl-C while following a batch: exit 130, and how to pick up again', async () => {
      const ac = new AbortController();
      const x = { ...io((req) => {
        if (req.url.pathname.endsWith('/b_9')) setTimeout(() => ac.abort(new Error('SIGINT')), 10);
        return json(200, { id: 'b_9', object: 'batch', model: 'm', status: 'running', counts: { total: 10, succeeded: 1, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: null });
      }), signal: ac.signal };
      expect(await runCli(['batch', 'wait', 'b_9'], x)).toBe(130);
      expect(x.stderr.text).toMatch(/interrupted: batch b_9 goes on running on the server; follow it with "maas batch wait b_9", stop it with "maas batch cancel b_9"\n$/);
    });

    it('Ctrl-C while submit --out follows its batch: the resume hint carries --out (quoted for a shell) and --url', async () => {
      const file = join(dir, 'ten.ndjson');
      await writeFile(file, '{"inputs":{"features":[1,2,3,4]}}\n'.repeat(10));
      const out = join(dir, "it's results.ndjson");
      const ac = new AbortController();
      const running = { id: 'b_9', object: 'batch', model: 'm', status: 'running', counts: { total: 10, succeeded: 1, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: null };
      const x = { ...io((req) => {
        if (req.method === 'POST') return json(202, { ...running, status: 'queued' });
        setTimeout(() => ac.abort(new Error('SIGINT')), 10);
        return json(200, running);
      }), signal: ac.signal };
      expect(await runCli(['batch', 'submit', file, '--model', 'm', '--out', out, '--url', 'http://api.example:9000'], x)).toBe(130);
      const quoted = `'${out.replace("'", "'\\''")}'`;
      expect(x.stderr.text).toContain(`follow it with "maas batch wait b_9 --url http://api.example:9000 --out ${quoted}", stop it with "maas batch cancel b_9 --url http://api.example:9000"\n`);
    });

    it('Ctrl-C while the results download: exit 130, and the command that gets them', async () => {
      const ac = new AbortController();
      const out = join(dir, 'cut.ndjson');
      const x = { ...io((req) => {
        if (req.url.pathname.endsWith('/results')) {
          ac.abort(new Error('SIGINT'));
          return new Response(new ReadableStream({ start: (c) => c.error(new Error('aborted')) }), { headers: { 'content-type': 'application/x-ndjson' } });
        }
        return json(200, { id: 'b_8', object: 'batch', model: 'm', status: 'succeeded', counts: { total: 1, succeeded: 1, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: new Date().toISOString() });
      }), signal: ac.signal };
      expect(await runCli(['batch', 'wait', 'b_8', '--out', out], x)).toBe(130);
      expect(x.stderr.text.endsWith(`interrupted: batch b_8 has ended, its results not all written; get them with "maas batch results b_8 --out ${out}" (it goes on from what ${out}.partial kept, if anything)\n`)).toBe(true);
    });

    /** The upload of `argv` (with --no-wait), as the stub API received it. */
    async function uploaded(argv: string[], stdin: Buffer[] = []) {
      let seen: { headers: Headers; bytes: Buffer } | undefined;
      const x = { ...io((req) => {
        seen = req;
        return json(202, { id: 'b_3', object: 'batch', model: 'm', status: 'queued', counts: { total: 1000, succeeded: 0, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: null });
      }), stdin: Readable.from(stdin) };
      const code = await runCli(['batch', 'submit', ...argv, '--model', 'm', '--no-wait'], x);
      return { code, stderr: x.stderr.text, type: seen?.headers.get('content-type'), encoding: seen?.headers.get('content-encoding'), bytes: seen?.bytes };
    }
    const ndjson = Buffer.from(Array.from({ length: 1000 }, (_, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { features: [i, 2, 3, 4] } })).join('\n') + '\n');
    const npy = Buffer.from(encodeNpy(Float32Array.from({ length: 4000 }, (_, i) => i), [1000, 4]));

    it('a gzip file is sent as it is with Content-Encoding: gzip, and an .npy by its magic bytes, whatever their names', async () => {
      const gz = join(dir, 'rows.ndjson.gz');
      await writeFile(gz, gzipSync(ndjson));
      const a = await uploaded([gz]);
      expect(a).toMatchObject({ code: 0, type: 'application/x-ndjson', encoding: 'gzip' });
      expect(a.bytes!.equals(gzipSync(ndjson))).toBe(true);
      expect(a.stderr).toMatch(/batch b_3: 1,000 lines \(\d+\.\d kB gzip\) on m\n/);
      const named = join(dir, 'rows.bin');
      await writeFile(named, npy);
      expect(await uploaded([named])).toMatchObject({ code: 0, type: 'application/x-npy', encoding: null });
      const npyGz = join(dir, 'rows.data');
      await writeFile(npyGz, gzipSync(npy));
      expect(await uploaded([npyGz])).toMatchObject({ code: 0, type: 'application/x-npy', encoding: 'gzip' });
    });

    it('a FIFO (<(zcat x.gz)) is streamed as stdin is, without a size; so is stdin, gzip or .npy told by its bytes', async () => {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      createWriteStream(fifo).end(ndjson);
      const a = await uploaded([fifo]);
      expect(a).toMatchObject({ code: 0, type: 'application/x-ndjson', encoding: null });
      expect(a.bytes!.equals(ndjson)).toBe(true);
      expect(a.stderr).toContain(`uploading ${fifo} `);
      expect(a.stderr).toContain('batch b_3: 1,000 lines on m\n');
      const piped = await uploaded(['-'], [gzipSync(ndjson)]);
      expect(piped).toMatchObject({ code: 0, type: 'application/x-ndjson', encoding: 'gzip' });
      expect(piped.bytes!.equals(gzipSync(ndjson))).toBe(true);
      expect(await uploaded(['-'], [npy.subarray(0, 3), npy.subarray(3)])).toMatchObject({ code: 0, type: 'application/x-npy', encoding: null });
    });

    it('--no-wait prints the id and returns; a failed batch exits 1', async () => {
      const file = join(dir, 'one.ndjson');
      await writeFile(file, '{"inputs":{"features":[1,2,3,4]}}\n');
      const b = (status: string) => ({ id: 'batch_2', object: 'batch', model: 'm', status, counts: { total: 1, succeeded: 0, failed: 0 }, created_at: new Date().toISOString(), started_at: null, completed_at: null, error: status === 'failed' ? { type: 'internal', message: 'model crashed' } : null });
      const x = io((req) => json(req.method === 'POST' ? 202 : 200, b('queued')));
      expect(await runCli(['batch', 'submit', file, '--model', 'm', '--no-wait'], x)).toBe(0);
      expect(x.stdout.text).toBe('batch_2\n');
      expect(x.stderr.text).toContain('batch batch_2: 1 line (34 B) on m\n');
      const y = io((req) => json(req.method === 'POST' ? 202 : 200, b(req.method === 'POST' ? 'queued' : 'failed')));
      expect(await runCli(['batch', 'submit', file, '--model', 'm'], y)).toBe(1);
      expect(y.stderr.text).toMatch(/batch batch_2 failed in \d+s: 0 lines succeeded, 0 failed of 1\n {2}model crashed\n$/);
    });
  });
});
