/** What a process costs, read from /proc: CPU seconds and resident memory (Linux). */
import { readFile } from 'node:fs/promises';

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100; // utime, stime in clock ticks (100/s)
}

/** Minor page faults so far (first touches of memory the process was given), and user and system CPU seconds. */
export async function faultsAndCpu(pid: number): Promise<{ minflt: number; user: number; system: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { minflt: Number(fields[7] ?? 0), user: Number(fields[11] ?? 0) / 100, system: Number(fields[12] ?? 0) / 100 };
}

/** CPU seconds each named process used while `work` ran. */
export async function cpuDuring(pids: Record<string, number>, work: () => Promise<void>): Promise<Record<string, number>> {
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await cpuSeconds(p)] as const)));
  await work();
  return Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, (await cpuSeconds(p)) - before[k]!] as const)));
}

/** Resident memory of a process (VmRSS), sampled every 100 ms until stopped; `stop` returns the peak in MB. */
export function sampleRss(pid: number): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    void readFile(`/proc/${pid}/status`, 'utf8').then((s) => {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    }, () => {});
  }, 100);
  return { stop: () => (clearInterval(timer), peak) };
}

/** CPU seconds (user + system) of each thread of a process so far, by thread id, with the thread's name. */
export async function threadCpu(pid: number): Promise<Map<number, { name: string; seconds: number }>> {
  const { readdir } = await import('node:fs/promises');
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const result = new Map<number, { name: string; seconds: number }>();
  for (const tid of tids) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.set(Number(tid), { name, seconds: (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100 });
  }
  return result;
}
