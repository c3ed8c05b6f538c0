/**
 * `npm run bench:batch`: a 1,000,000-row batch end to end against raw onnxruntime.
 *
 * 1. onnxruntime alone, in this process, at the MLP's best batch size: the ceiling.
 * 2. The service with one worker: upload a 1M-line NDJSON file (compact form, 32 features),
 *    wait for it, download the results; time each phase and sample the API's resident memory.
 * 3. The same rows uploaded as one float32 `.npy` array (no text to parse), with NDJSON
 *    results, then with `.npy` results (Accept: application/x-npy).
 * Prints both rates and their ratio. BENCH_ROWS changes the size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { rawRowsPerSecond } from './ort.js';
import { cpuSeconds, sampleRss } from './proc.js';
import { npyHeader } from '@maas/client';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);

async function writeInput(file: string): Promise<void> {
  const out = createWriteStream(file);
  const block = 1000;
  for (let start = 0; start < ROWS; start += block) {
    const lines = rows(start + 1, Math.min(block, ROWS - start), 32)
      .map((r, i) => `{"custom_id":"r${start + i}","inputs":{"input":[${r.map((v) => v.toFixed(4)).join(',')}]}}\n`)
      .join('');
    if (!out.write(lines)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Writes the same rows as one float32 `.npy` array (header, then the raw values). */
async function writeNpy(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write(npyHeader('<f4', [ROWS, 32]));
  const block = 1000;
  for (let start = 0; start < ROWS; start += block) {
    const values = Float32Array.from(rows(start + 1, Math.min(block, ROWS - start), 32).flat().map((v) => Number(v.toFixed(4))));
    if (!out.write(Buffer.from(values.buffer))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

interface Measured {
  upload: number;
  inference: number;
  download: number;
  total: number;
  cpu: Record<string, number>;
  rssMb: number;
  counts: unknown;
  resultsMb: number;
}

/** Uploads `input` as `contentType`, waits, downloads the results as `accept`; times and samples it all. */
async function measure(input: string, contentType: string, output: string, accept = 'application/x-ndjson'): Promise<Measured> {
  const cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp' } });
  try {
    const rss = sampleRss(cluster.api.child.pid!);
    const pids = { api: cluster.api.child.pid!, worker: cluster.workers[0]!.child.pid!, redis: cluster.redis.process.pid!, 'client (this process)': process.pid };
    const cpuBefore = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, pid]) => [k, await cpuSeconds(pid)] as const)));
    const t0 = performance.now();
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: Readable.toWeb(createReadStream(input, { highWaterMark: 1 << 20 })) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const batch = (await res.json()) as { id: string; status: string };
    if (res.status !== 202) throw new Error(`upload failed: ${JSON.stringify(batch)}`);
    const tUploaded = performance.now();
    let done: any;
    for (;;) {
      done = await (await fetch(`${cluster.url}/v1/batches/${batch.id}`)).json();
      if (done.completed_at) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tDone = performance.now();
    const results = await fetch(`${cluster.url}/v1/batches/${batch.id}/results`, { headers: { accept } });
    if (results.status !== 200) throw new Error(`results: HTTP ${results.status}`);
    await pipeline(Readable.fromWeb(results.body as never), createWriteStream(output));
    const tEnd = performance.now();
    const cpu = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, pid]) => [k, (await cpuSeconds(pid)) - cpuBefore[k]!] as const)));
    return {
      upload: (tUploaded - t0) / 1000, inference: (tDone - tUploaded) / 1000, download: (tEnd - tDone) / 1000, total: (tEnd - t0) / 1000,
      cpu, rssMb: rss.stop(), counts: done.counts, resultsMb: (await stat(output)).size / 1e6,
    };
  } finally {
    await cluster.stop();
  }
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'maas-bench-'));
  const ndjson = join(dir, 'rows.ndjson');
  const npy = join(dir, 'rows.npy');
  const output = join(dir, 'results.ndjson');
  try {
    const raw = (await rawRowsPerSecond([1024], 3000)).get(1024)!;
    await writeInput(ndjson);
    await writeNpy(npy);
    console.log(`raw onnxruntime, 1024 rows per run, 2 threads: ${Math.round(raw).toLocaleString()} rows/s`);
    console.log(`input: ${ROWS.toLocaleString()} rows of 32 features: ${((await stat(ndjson)).size / 1e6).toFixed(0)} MB of NDJSON, ${((await stat(npy)).size / 1e6).toFixed(0)} MB as .npy`);
    const runs = {
      'NDJSON in, NDJSON out': await measure(ndjson, 'application/x-ndjson', output),
      '.npy in, NDJSON out': await measure(npy, 'application/x-npy', output),
      '.npy in, .npy out': await measure(npy, 'application/x-npy', output, 'application/x-npy'),
    };
    const each = (f: (m: Measured) => string) => Object.fromEntries(Object.entries(runs).map(([k, m]) => [k, f(m)]));
    console.table({
      'upload (read, check, enqueue)': each((m) => m.upload.toFixed(2)),
      'inference after the upload ended': each((m) => m.inference.toFixed(2)),
      'results download': each((m) => m.download.toFixed(2)),
      'total seconds': each((m) => m.total.toFixed(2)),
      ...Object.fromEntries(Object.keys(runs['.npy in, .npy out'].cpu).map((p) => [`CPU s: ${p}`, each((m) => m.cpu[p]!.toFixed(1))])),
      'API peak RSS (MB)': each((m) => m.rssMb.toFixed(0)),
      'rows/s end to end': each((m) => Math.round(ROWS / m.total).toLocaleString()),
      'ratio to raw onnxruntime': each((m) => (ROWS / m.total / raw).toFixed(3)),
    });
    for (const [k, m] of Object.entries(runs)) console.log(`${k}: counts ${JSON.stringify(m.counts)}, results ${m.resultsMb.toFixed(0)} MB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
