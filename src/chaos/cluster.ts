// `prism chaos` on the cluster topology: what a target names there — a node (`kafka-2`), the current
// leader or primary of a clustered service (`kafka-leader`, `postgres-leader`: resolved when the fault is
// injected, from what the nodes say of themselves), a whole machine (`machine-2`: its every node and
// application process), or an application process (`worker-2`) — and how each is found, cut off and brought
// back, by the same code that started it.
import { appStatus, startApp } from '../app/index.ts';
import type { Env } from '../config.ts';
import type { Progress } from '../progress.ts';
import { cgroupPids, machineCgroup } from '../stack/cgroups.ts';
import { context, nativeHealth, nativeProcesses, startServices } from '../stack/native.ts';
import { stackPaths } from '../stack/paths.ts';
import { servicesOf, type NativeService } from '../stack/services.ts';
import { clusterMachines } from '../stack/topology.ts';
import type { Cut } from './partition.ts';

/** The clustered services, each with what its failures say (a failed task must name what was down). */
export const clusteredServices = {
  postgres: { component: 'PostgreSQL', pattern: /PostgreSQL|database server/i },
  kafka: { component: 'Kafka', pattern: /Kafka/i },
  redis: { component: 'Redis', pattern: /Redis/i },
  weaviate: { component: 'Weaviate', pattern: /Weaviate/i },
  temporal: { component: 'Temporal', pattern: /Temporal/i },
} as const;
export type ClusteredService = keyof typeof clusteredServices;

export interface ClusterTarget {
  /** As asked (`kafka-leader`), and what it was when the fault came (`kafka-leader (kafka-2)`). */
  name: string;
  label: string;
  nodes: NativeService[];
  apps: string[];
  /** A whole machine: its index (every process in its group is the target). */
  machine?: number;
  /** What a partition cuts off (a node or a machine; an application process is killed or frozen only). */
  cut?: Cut;
  component: string;
  pattern: RegExp;
}

/**
 * The default plan on the cluster topology: for each clustered service its leader (or primary) killed,
 * frozen and cut off; then a whole machine killed and cut off.
 */
export function clusterPlan(): { target: string; mode: 'kill' | 'freeze' | 'partition' }[] {
  return [
    ...(Object.keys(clusteredServices) as ClusteredService[]).flatMap((g) =>
      (['kill', 'freeze', 'partition'] as const).map((mode) => ({ target: `${g}-leader`, mode })),
    ),
    { target: 'machine-2', mode: 'kill' },
    { target: 'machine-3', mode: 'partition' },
  ];
}

/** Whether `target` names something of the cluster topology `env` describes; the reason when not. */
export function clusterTargetProblem(env: Env, target: string): string | null {
  const nodes = servicesOf(env).map((s) => s.name);
  const apps = appStatus(env).map((a) => a.name);
  const machines = clusterMachines(env).map((m) => `machine-${m.index}`);
  const leaders = Object.keys(clusteredServices).map((g) => `${g}-leader`);
  if ([...nodes, ...apps, ...machines, ...leaders].includes(target)) return null;
  return `unknown target "${target}": a node (${nodes.join(', ')}), a leader (${leaders.join(', ')}), a machine (${machines.join(', ')}) or a process (${apps.join(', ')})`;
}

const leaderRole = /leader|primary|master/i;

export async function resolveClusterTarget(env: Env, target: string): Promise<ClusterTarget> {
  const problem = clusterTargetProblem(env, target);
  if (problem) throw new Error(problem);
  const services = servicesOf(env);
  const paths = stackPaths(env);
  const machine = /^machine-(\d+)$/.exec(target);
  if (machine) {
    const index = Number(machine[1]);
    const m = clusterMachines(env).find((x) => x.index === index)!;
    return {
      name: target,
      label: `${target} (${m.address})`,
      nodes: services.filter((s) => s.machine?.index === index),
      apps: appStatus(env)
        .map((a) => a.name)
        .filter((n) => n.endsWith(`-${index}`)),
      machine: index,
      cut: { group: machineCgroup(index), address: m.address },
      component: `machine ${index}`,
      pattern: /PostgreSQL|database server|Kafka|Redis|Weaviate|Temporal|worker|agent|API/i,
    };
  }
  const leader = /^(.+)-leader$/.exec(target);
  let node: NativeService | undefined;
  if (leader) {
    const group = services.filter((s) => s.group === leader[1] && s.machine);
    const roles = await Promise.all(
      group.map(async (s) => (await s.role?.(context(s, env, paths)).catch(() => null)) ?? ''),
    );
    // Temporal has no leader (its shards are spread over every history host): its first node.
    node = group[roles.findIndex((r) => leaderRole.test(r))] ?? group[0];
  } else {
    node = services.find((s) => s.name === target);
  }
  if (node?.machine) {
    const group = (node.group ?? node.name) as ClusteredService;
    const known = clusteredServices[group] ?? { component: node.name, pattern: new RegExp(node.name, 'i') };
    const ctx = context(node, env, paths);
    return {
      name: target,
      label: leader ? `${target} (${node.name})` : target,
      nodes: [node],
      apps: [],
      cut: {
        group: machineCgroup(node.machine.index, node.name),
        address: node.machine.address,
        ports: node.ports(ctx.env),
      },
      ...known,
    };
  }
  // An application process on a machine.
  const app = /^(.*)-(\d+)$/.exec(target)!;
  return {
    name: target,
    label: target,
    nodes: [],
    apps: [target],
    component: app[1]!,
    pattern: new RegExp(app[1]!.replace(/^agent-/, ''), 'i'),
  };
}

/** Every process of the target now (a machine: every process in its group, children included). */
export function clusterTargetPids(env: Env, t: ClusterTarget): number[] {
  if (t.machine !== undefined) return cgroupPids(machineCgroup(t.machine));
  // Each node's own process and everything in its group: a child its parent lost (a PostgreSQL whose
  // Patroni died before) belongs to the node all the same.
  const nodePids = nativeProcesses(env)
    .filter((p) => t.nodes.some((n) => n.name === p.name))
    .flatMap((p) => (p.pid === null ? [] : [p.pid]));
  const grouped = t.nodes.flatMap((n) =>
    n.machine ? cgroupPids(machineCgroup(n.machine.index, n.name)) : [],
  );
  const appPids = appStatus(env)
    .filter((a) => t.apps.includes(a.name))
    .flatMap((a) => (a.pid === null ? [] : [a.pid]));
  return [...new Set([...nodePids, ...grouped, ...appPids])];
}

/** Every node of the target answers its readiness check, and its processes run. */
export async function clusterTargetReady(env: Env, t: ClusterTarget): Promise<boolean> {
  const names = new Set(t.nodes.map((n) => n.name));
  const health = (await nativeHealth(env)).filter((h) => h.node && names.has(h.node));
  const apps = appStatus(env).filter((a) => t.apps.includes(a.name));
  return health.every((h) => h.healthy) && apps.every((a) => a.pid !== null);
}

/** Starts what of the target is not running, with the stack's own code (each node after those it needs). */
export async function restartClusterTarget(
  env: Env,
  t: ClusterTarget,
  progress: Progress,
  processEnv?: NodeJS.ProcessEnv,
): Promise<void> {
  await startServices(t.nodes, env, stackPaths(env), progress);
  if (t.apps.length) await startApp(env, progress, { processEnv });
}

/** Every node and process of the cluster topology serving (before a fault: the last one's restart took). */
export async function clusterReady(env: Env): Promise<{ ready: boolean; down: string[] }> {
  const health = await nativeHealth(env);
  const down = [
    ...health.filter((h) => !h.healthy).map((h) => h.node ?? h.name),
    ...appStatus(env)
      .filter((a) => a.pid === null)
      .map((a) => a.name),
  ];
  return { ready: down.length === 0, down: [...new Set(down)] };
}

/** Starts every node and process of the cluster topology that is not running. */
export async function restartCluster(env: Env, progress: Progress, processEnv?: NodeJS.ProcessEnv) {
  await startServices(servicesOf(env), env, stackPaths(env), progress);
  await startApp(env, progress, { processEnv });
}
