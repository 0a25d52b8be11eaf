// Ports a service listens on that lie in Linux's ephemeral range (net.ipv4.ip_local_port_range, 32768–60999
// by default) can be taken by any outgoing connection — its local port — before the service binds them:
// Weaviate's gRPC (50051, and 50052–50054 for the cluster's nodes) once failed a cluster's start with
// "listen tcp :50054: bind: address already in use". The kernel's own answer is
// net.ipv4.ip_local_reserved_ports: ports it never hands out as ephemeral ones. The stack adds its ports
// there before it starts a service; without the right to (not root), it says what to run instead.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Progress } from '../progress.ts';

const rangeFile = '/proc/sys/net/ipv4/ip_local_port_range';
const reservedFile = '/proc/sys/net/ipv4/ip_local_reserved_ports';

/** The ports a list such as "8080,50051-50054" names. */
export function parsePortList(text: string): Set<number> {
  const ports = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    for (let p = from; p <= to; p++) ports.add(p);
  }
  return ports;
}

/** Ports as the kernel writes them: sorted, runs as ranges ("50051-50054,60000"). */
export function formatPortList(ports: Iterable<number>): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}

/** Of `ports`, those in the ephemeral range [low, high] and not reserved yet. */
export function portsToReserve(ports: number[], range: [number, number], reserved: Set<number>): number[] {
  return [...new Set(ports)]
    .filter((p) => p >= range[0] && p <= range[1] && !reserved.has(p))
    .sort((a, b) => a - b);
}

/** Where the two settings are read and the reserved list written: the kernel's files, or a test's. */
export interface PortSettings {
  range: string;
  reserved: string;
  write?: (file: string, text: string) => void;
}

/**
 * Reserves those of `ports` (of `service`) that lie in the ephemeral range; a no-op when they are reserved
 * already, or on a system without the setting (not Linux). Never fails a start: without the right to write
 * the setting it says what to run.
 */
export function reserveListeningPorts(
  service: string,
  ports: number[],
  progress: Progress,
  files: PortSettings = { range: rangeFile, reserved: reservedFile },
): number[] {
  let range: [number, number];
  let reserved: Set<number>;
  let current: string;
  try {
    const [low, high] = readFileSync(files.range, 'utf8').trim().split(/\s+/).map(Number);
    range = [low!, high!];
    current = readFileSync(files.reserved, 'utf8').trim();
    reserved = parsePortList(current);
  } catch {
    return [];
  }
  const wanted = portsToReserve(ports, range, reserved);
  if (wanted.length === 0) return [];
  const list = formatPortList(wanted);
  const [noun, are] = wanted.length === 1 ? ['port', 'is'] : ['ports', 'are'];
  const why = `in Linux's ephemeral range (${range[0]}–${range[1]}), where an outgoing connection can take ${wanted.length === 1 ? 'it' : 'one'} before ${service} binds it`;
  try {
    (files.write ?? writeFileSync)(files.reserved, current ? `${current},${list}` : list);
  } catch (err) {
    progress.step(
      `${noun} ${list} of ${service} ${are} ${why}; could not reserve ${wanted.length === 1 ? 'it' : 'them'} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        `run \`sudo sysctl -w net.ipv4.ip_local_reserved_ports=${current ? `${current},` : ''}${list}\` ` +
        '(and put it in /etc/sysctl.d/ to keep it)',
    );
    return [];
  }
  progress.step(
    `reserved ${noun} ${list} of ${service} (net.ipv4.ip_local_reserved_ports): ${wanted.length === 1 ? 'it' : 'they'} ${are} ${why}`,
  );
  return wanted;
}
