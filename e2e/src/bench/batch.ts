/**
 * `npm run bench:batch`: a 1,000,000-row batch end to end against raw onnxruntime.
 *
 * 1. onnxruntime alone, in this process, at the MLP's best batch size: the ceiling.
 * 2. The service with one worker: upload a 1M-line NDJSON file (compact form, 32 features),
 *    wait for it, download the results; time each phase and sample the API's resident memory.
 * Prints both rates and their ratio. BENCH_ROWS changes the size.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cluster } from '../harness/cluster.js';
import { rows } from '../harness/http.js';
import { rawRowsPerSecond } from './ort.js';

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

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100; // utime, stime in clock ticks (100/s)
}

/** Resident memory of a process (VmRSS), sampled until stopped; returns the peak in MB. */
function sampleRss(pid: number) {
  let peak = 0;
  const timer = setInterval(() => {
    void readFile(`/proc/${pid}/status`, 'utf8').then((s) => {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    }, () => {});
  }, 100);
  return { stop: () => (clearInterval(timer), peak) };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'maas-bench-'));
  const input = join(dir, 'rows.ndjson');
  const output = join(dir, 'results.ndjson');
  try {
    const raw = (await rawRowsPerSecond([1024], 3000)).get(1024)!;
    await writeInput(input);
    const size = (await stat(input)).size;
    console.log(`raw onnxruntime, 1024 rows per run, 2 threads: ${Math.round(raw).toLocaleString()} rows/s`);
    console.log(`input: ${ROWS.toLocaleString()} lines, ${(size / 1e6).toFixed(0)} MB of NDJSON`);

    const cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp' } });
    try {
      const rss = sampleRss(cluster.api.child.pid!);
      const pids = { api: cluster.api.child.pid!, worker: cluster.workers[0]!.child.pid!, redis: cluster.redis.process.pid!, 'client (this process)': process.pid };
      const cpuBefore = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, pid]) => [k, await cpuSeconds(pid)] as const)));
      const t0 = performance.now();
      const res = await fetch(`${cluster.url}/v1/batches?model=mlp`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
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
      const results = await fetch(`${cluster.url}/v1/batches/${batch.id}/results`);
      await pipeline(Readable.fromWeb(results.body as never), createWriteStream(output));
      const tEnd = performance.now();
      const peak = rss.stop();
      const cpu = await Promise.all(Object.entries(pids).map(async ([k, pid]) => ({ process: k, 'CPU seconds': ((await cpuSeconds(pid)) - cpuBefore[k]!).toFixed(1) })));
      const seconds = (tEnd - t0) / 1000;
      const rate = ROWS / seconds;
      console.table([
        { phase: 'upload (parse, check, enqueue)', seconds: ((tUploaded - t0) / 1000).toFixed(2) },
        { phase: 'inference after the upload ended', seconds: ((tDone - tUploaded) / 1000).toFixed(2) },
        { phase: 'results download', seconds: ((tEnd - tDone) / 1000).toFixed(2) },
        { phase: 'total', seconds: seconds.toFixed(2) },
      ]);
      console.log('where the time goes (CPU seconds per process during the run, 2 cores):');
      console.table(cpu);
      console.log(`batch status ${done.status}, counts ${JSON.stringify(done.counts)}, results ${((await stat(output)).size / 1e6).toFixed(0)} MB`);
      console.log(`end to end: ${Math.round(rate).toLocaleString()} rows/s; raw onnxruntime: ${Math.round(raw).toLocaleString()} rows/s; ratio ${(rate / raw).toFixed(3)}`);
      console.log(`API peak resident memory: ${peak.toFixed(0)} MB`);
    } finally {
      await cluster.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
