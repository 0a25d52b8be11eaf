// A service's ports in Linux's ephemeral range are reserved before it starts, so no outgoing connection takes
// one first (src/stack/reserved-ports.ts). The settings are files here of the kernel's format.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentProgress, type Progress } from '../../src/progress.ts';
import {
  formatPortList,
  parsePortList,
  portsToReserve,
  reserveListeningPorts,
} from '../../src/stack/reserved-ports.ts';

describe('reserved ports', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function settings(range: string, reserved: string) {
    const dir = mkdtempSync(join(tmpdir(), 'prism-ports-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'range'), `${range}\n`);
    writeFileSync(join(dir, 'reserved'), `${reserved}\n`);
    return { range: join(dir, 'range'), reserved: join(dir, 'reserved') };
  }
  const recording = () => {
    const steps: string[] = [];
    const progress: Progress = { ...silentProgress, step: (m) => void steps.push(m) };
    return { steps, progress };
  };

  it('reads and writes the kernel’s list form', () => {
    expect([...parsePortList('8080,50051-50054, 60000')]).toEqual([8080, 50051, 50052, 50053, 50054, 60000]);
    expect(parsePortList('')).toEqual(new Set());
    expect(formatPortList([50054, 50051, 50052, 50053, 60000, 8080, 50051])).toBe('8080,50051-50054,60000');
  });

  it('picks the ports in the ephemeral range that are not reserved yet', () => {
    expect(
      portsToReserve([8080, 32767, 32768, 50051, 60999, 61000], [32768, 60999], new Set([50051])),
    ).toEqual([32768, 60999]);
  });

  it('adds a service’s ephemeral-range ports to those reserved, keeps the others, and says so once', () => {
    const files = settings('32768\t60999', '9000,40000-40001');
    const { steps, progress } = recording();
    expect(reserveListeningPorts('weaviate-3', [8080, 50054, 50051, 50052, 50053], progress, files)).toEqual([
      50051, 50052, 50053, 50054,
    ]);
    expect(readFileSync(files.reserved, 'utf8')).toBe('9000,40000-40001,50051-50054');
    expect(steps).toEqual([
      expect.stringMatching(
        /^reserved ports 50051-50054 of weaviate-3 \(net\.ipv4\.ip_local_reserved_ports\).*32768–60999/,
      ),
    ]);
    // Reserved already: nothing to write, nothing to say.
    expect(reserveListeningPorts('weaviate-3', [50051, 50054], progress, files)).toEqual([]);
    expect(steps).toHaveLength(1);
    // None in the range: nothing either.
    expect(reserveListeningPorts('redis', [6379], progress, files)).toEqual([]);
    expect(readFileSync(files.reserved, 'utf8')).toBe('9000,40000-40001,50051-50054');
  });

  it('without the right to write the setting, starts anyway and says what to run', () => {
    const files = settings('32768 60999', '');
    const { steps, progress } = recording();
    const denied = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    const reserved = reserveListeningPorts('weaviate', [50051], progress, {
      ...files,
      write: () => {
        throw denied;
      },
    });
    expect(reserved).toEqual([]);
    expect(steps).toEqual([
      expect.stringContaining(
        'could not reserve it (EACCES): run `sudo sysctl -w net.ipv4.ip_local_reserved_ports=50051`',
      ),
    ]);
  });

  it('does nothing where the kernel has no such settings (not Linux)', () => {
    const { steps, progress } = recording();
    const missing = join(tmpdir(), 'prism-no-such-dir', 'x');
    expect(
      reserveListeningPorts('weaviate', [50051], progress, { range: missing, reserved: missing }),
    ).toEqual([]);
    expect(steps).toEqual([]);
  });
});
