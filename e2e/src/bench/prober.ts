/**
 * A latency probe in a process of its own: `node prober.js <url> <intervalMs>` GETs the URL
 * every interval over one keep-alive connection, prints `ready` after its first answer, and
 * when its standard input ends prints every probe's time (ms) as one JSON array and exits.
 *
 * Its own process, so that what it measures is the server: a probe sharing the bench's event
 * loop also timed the bench's own stalls (streaming a 100 MB upload, its first use of code),
 * up to 100 ms while the API's longest busy stretch was 27 ms (`--cpu-prof`).
 */
import { Agent, get } from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function probe(url: string): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(performance.now() - t));
    }).once('error', reject);
  });
}

async function main(url: string, intervalMs: number): Promise<void> {
  let running = true;
  process.stdin.once('end', () => (running = false)).resume();
  const times: number[] = [];
  await probe(url);
  process.stdout.write('ready\n');
  while (running) {
    times.push(await probe(url));
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  process.stdout.write(JSON.stringify(times) + '\n');
  agent.destroy();
}

/** Starts a prober; `stop()` ends it and gives the probes' times. */
export async function startProber(url: string, intervalMs: number): Promise<{ stop: () => Promise<number[]> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), url, String(intervalMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`prober exited with ${code}`)));
    child.stdout.on('data', (s: string) => {
      out += s;
      if (out.startsWith('ready\n')) resolve();
    });
  });
  return {
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
      return JSON.parse(out.slice('ready\n'.length)) as number[];
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2]!, Number(process.argv[3] ?? 10));
