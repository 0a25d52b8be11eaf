// Each machine of the cluster topology as a control group (cgroup v2): every process of machine n (its
// service nodes and application processes) in prism/m<n>/<name>. That is what makes a machine a machine on
// one box: `prism chaos` kills or freezes a whole machine by its group, and cuts a node or a machine off
// the network by matching its group in nftables (src/chaos/partition.ts) — on loopback, where addresses
// alone cannot tell whose packet it is (an outgoing connection's source is 127.0.0.1 whatever its process).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
export function cgroupRoot(): string | null {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
    const line = mounts.find((l) => l.split(' ')[2] === 'cgroup2');
    return line ? line.split(' ')[1]! : null;
  } catch {
    return null;
  }
}

/** The group of a process of the cluster topology: prism/m<machine>[/<name>]. */
export function machineCgroup(machineIndex: number, name?: string): string {
  return name ? `prism/m${machineIndex}/${name}` : `prism/m${machineIndex}`;
}

/**
 * Puts a running process (and the children it starts from now on) into `group`, creating it. Returns false
 * where there is no writable cgroup v2 hierarchy (the topology still runs; only partitions need groups).
 */
export function joinCgroup(pid: number, group: string): boolean {
  const root = cgroupRoot();
  if (!root) return false;
  try {
    const dir = join(root, group);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
    return true;
  } catch {
    return false;
  }
}

/** A shell prefix that puts itself into `group` before it execs the command (no child escapes). */
export function cgroupExecPrefix(group: string): string[] | null {
  const root = cgroupRoot();
  if (!root) return null;
  const dir = join(root, group);
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return null;
  }
  return ['/bin/sh', '-c', `echo $$ > '${join(dir, 'cgroup.procs')}' && exec "$@"`, 'sh'];
}

/** Every process in `group` and the groups below it. */
export function cgroupPids(group: string): number[] {
  const root = cgroupRoot();
  if (!root) return [];
  const walk = (dir: string): number[] => {
    if (!existsSync(dir)) return [];
    const own = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    const below = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => walk(join(dir, d.name)));
    return [...own, ...below];
  };
  return walk(join(root, group));
}

/**
 * How nftables names `group` (`socket cgroupv2 level <level> "<path>"`): its path below /sys/fs/cgroup and
 * its depth below the cgroup v2 root.
 */
export function nftCgroup(group: string): { path: string; level: number } | null {
  const root = cgroupRoot();
  if (!root) return null;
  const below = root.replace(/^\/sys\/fs\/cgroup\/?/, '');
  return { path: below ? `${below}/${group}` : group, level: group.split('/').length };
}
