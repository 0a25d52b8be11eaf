// `prism bench --profile <dir>`: V8 CPU profiles of the task worker and the bench's agent while the tasks run
// through Temporal, and where their time went. The two processes are restarted with node's --cpu-prof (through
// their supervisor, bin/supervise.js: PRISM_CPU_PROFILE_DIR), the tasks run, and they are restarted without
// it — each thread writes its profile as it ends (`CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile`, one per
// thread: the worker's main thread, its workflow thread, loader threads). Only the samples taken while the
// tasks ran count: V8 stamps them with the monotonic clock that process.hrtime reads here too.
// Open a profile in Chrome DevTools (Performance, "Load profile") or any .cpuprofile viewer for the call tree.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A sampled process's thread over the measured window. */
export interface ThreadProfile {
  file: string;
  pid: number;
  /** 0 is the main thread; the worker's workflow thread is another. */
  thread: number;
  /** Milliseconds of samples that were not idle, per task: the thread running, or blocked in native code. */
  busyMsPerTask: number;
  /** The biggest shares by package (node_modules/<package>, node:<module>, a file of ours, or a V8 category). */
  byPackage: { name: string; ms: number; share: number }[];
  /** The functions with the most self time. */
  byFunction: { name: string; ms: number; share: number }[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The monotonic clock in µs, as V8 stamps its samples. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

export function profileDirFor(root: string, runId: string): string {
  const dir = join(root, `bench-${runId}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function packageOf(url: string, repoRoot: string): string {
  if (!url) return '(native)';
  const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  if (url.includes('workflow-bundle')) return '(workflow bundle)';
  return url.replace(/^file:\/\//, '').replace(`${repoRoot}/`, '');
}

/** One profile's samples between `fromUs` and `toUs` (monotonic µs), summed by package and by function. */
export function summarizeProfile(
  file: string,
  window: { fromUs: number; toUs: number },
  tasks: number,
  repoRoot: string,
  top = 12,
): ThreadProfile | null {
  const name = file.split('/').at(-1)!;
  const m = name.match(/^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/);
  if (!m) return null;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < window.fromUs || t > window.toUs) continue;
    const frame = frames.get(profile.samples[i]!)!;
    if (frame.functionName === '(idle)') continue;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    busy += us;
    const pkg = frame.functionName.startsWith('(') ? frame.functionName : packageOf(frame.url, repoRoot);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${packageOf(frame.url, repoRoot)}${frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  if (busy === 0) return null;
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([n, us]) => ({
        name: n,
        ms: Math.round(us / 100) / 10,
        share: Math.round((us / busy) * 1000) / 1000,
      }));
  return {
    file,
    pid: Number(m[1]),
    thread: Number(m[2]),
    busyMsPerTask: Math.round((busy / 1000 / Math.max(tasks, 1)) * 10) / 10,
    byPackage: rank(byPackage),
    byFunction: rank(byFunction),
  };
}

/** Every profile in `dir`, summarized over the window; threads with samples in it only, busiest first. */
export function summarizeProfiles(
  dir: string,
  window: { fromUs: number; toUs: number },
  tasks: number,
  repoRoot: string,
): ThreadProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summarizeProfile(join(dir, f), window, tasks, repoRoot))
    .filter((p): p is ThreadProfile => p !== null && p.busyMsPerTask >= 0.1)
    .sort((a, b) => b.busyMsPerTask - a.busyMsPerTask);
}
