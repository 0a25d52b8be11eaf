// Where the benchmark's CPU time goes: the CPU time of every process the stack and `prism up` started (each
// with its children, e.g. PostgreSQL's backends), read from /proc before and after a run. Linux only;
// elsewhere the bench reports no breakdown.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU seconds (user + system) per process name, summed over each process's descendants. */
export type CpuSample = Map<string, number>;

export interface CpuShare {
  name: string;
  /** CPU milliseconds per completed task. */
  msPerTask: number;
  /** Share of all the CPU time measured, 0–1. */
  share: number;
}

const ticksPerSecond = 100; // USER_HZ: 100 on every Linux architecture Node supports

interface ProcStat {
  ppid: number;
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
    };
  } catch {
    return null; // gone
  }
}

/** The processes named by the pid files in `runDir` (`postgres.pid` → postgres, `app-worker.pid` → worker). */
function namedPids(runDir: string): Map<string, number> {
  const named = new Map<string, number>();
  if (!existsSync(runDir)) return named;
  for (const file of readdirSync(runDir)) {
    if (!file.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(runDir, file), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) named.set(file.replace(/^app-/, '').replace(/\.pid$/, ''), pid);
  }
  return named;
}

/** Whether this machine can report CPU per process. */
export function cpuAccountingAvailable(): boolean {
  return existsSync('/proc/self/stat');
}

/** CPU seconds so far of each running stack and app process (with descendants), and of this process. */
export function sampleCpu(runDir: string): CpuSample {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const treeSeconds = (root: number): number => {
    let total = 0;
    const todo = [root];
    while (todo.length > 0) {
      const pid = todo.pop()!;
      total += stats.get(pid)?.cpuSeconds ?? 0;
      todo.push(...(children.get(pid) ?? []));
    }
    return total;
  };
  const sample: CpuSample = new Map();
  for (const [name, pid] of namedPids(runDir)) {
    if (stats.has(pid)) sample.set(name, treeSeconds(pid));
  }
  const own = process.cpuUsage();
  sample.set('bench (this process)', (own.user + own.system) / 1e6);
  return sample;
}

/** CPU per task of each process between two samples, largest first. */
export function cpuShares(before: CpuSample, after: CpuSample, tasks: number): CpuShare[] {
  const used = [...after]
    .filter(([name]) => before.has(name)) // restarted or new processes have no baseline
    .map(([name, seconds]) => ({ name, seconds: Math.max(0, seconds - before.get(name)!) }));
  const total = used.reduce((s, u) => s + u.seconds, 0);
  return used
    .map((u) => ({
      name: u.name,
      msPerTask: Math.round((u.seconds * 1000 * 10) / Math.max(tasks, 1)) / 10,
      share: total > 0 ? Math.round((u.seconds / total) * 1000) / 1000 : 0,
    }))
    .sort((a, b) => b.msPerTask - a.msPerTask);
}
