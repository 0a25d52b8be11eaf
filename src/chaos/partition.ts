// A network partition on one box: a node (or a whole machine) of the cluster topology cut off from every
// other — nothing it sends leaves it, nothing sent to it arrives — with nftables, matching the node's
// control group (src/stack/cgroups.ts) for what it sends and its address and ports for what it is sent.
// Its processes keep running, unlike a kill or a freeze: it is the others that must notice.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { nftCgroup } from '../stack/cgroups.ts';

const execFileAsync = promisify(execFile);
const table = 'prism_chaos';

export interface Cut {
  /** The control group of what is cut off (prism/m2, or prism/m2/kafka-2). */
  group: string;
  /** Its address. */
  address: string;
  /** The ports it listens on; none: every port of the address (a whole machine). */
  ports?: number[];
}

/** Runs `nft -f -` with `script` on its standard input. */
function nft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) =>
      reject(
        new Error(`nft could not run (${err.message}): a partition needs the nft command (Debian: nftables)`),
      ),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`nftables refused the partition: ${stderr.trim()} (it needs root and cgroup v2)`)),
    );
    child.stdin.end(script);
  });
}

/** The rules of a cut: packets to it from outside its group, and from it to anything but itself, dropped. */
export function partitionRules(cut: Cut): string {
  const cg = nftCgroup(cut.group);
  if (!cg) throw new Error('no cgroup v2 hierarchy is mounted: a partition cannot tell whose packet it is');
  const group = `socket cgroupv2 level ${cg.level} "${cg.path}"`;
  const endpoint = cut.ports?.length
    ? `ip daddr ${cut.address} tcp dport { ${cut.ports.join(', ')} }`
    : `ip daddr ${cut.address}`;
  return [
    `table inet ${table} {`,
    '  chain to_cut {',
    `    ${group} accept`,
    '    drop',
    '  }',
    '  chain from_cut {',
    `    ${endpoint} accept`,
    '    drop',
    '  }',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    ${endpoint} jump to_cut`,
    `    ${group} jump from_cut`,
    '  }',
    '}',
  ].join('\n');
}

/** Cuts `cut` off; `heal()` undoes it (and any cut a broken-off run left). */
export async function partition(cut: Cut): Promise<void> {
  await heal();
  await nft(partitionRules(cut));
}

export async function heal(): Promise<void> {
  await execFileAsync('nft', ['delete', 'table', 'inet', table]).catch(() => undefined);
}
