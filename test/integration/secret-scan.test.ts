// The repository's secret scan: gitleaks (built from its Go module by the stack installer, version pinned in
// src/stack/versions.ts) over the whole git history, with its default rules and the allowances in
// .gitleaks.toml. A secret committed anywhere, ever, fails the suite; the control proves the scanner finds
// one.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaries } from '../../src/stack/install.ts';
import { repoRoot, stackPaths } from '../../src/stack/paths.ts';
import { env } from '../helpers.ts';

const run = promisify(execFile);

type Finding = { RuleID: string; File: string; StartLine: number; Commit: string };

describe('the secret scan (gitleaks)', () => {
  const gitleaks = binaries(stackPaths(env)).gitleaks;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prism-gitleaks-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function scan(args: string[]): Promise<{ code: number; findings: Finding[] }> {
    const report = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
    const code = await run(
      gitleaks,
      [
        ...args,
        '--no-banner',
        '--redact',
        '--report-format',
        'json',
        '--report-path',
        report,
        '--exit-code',
        '3',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    return { code, findings: JSON.parse(await readFile(report, 'utf8')) as Finding[] };
  }

  it('finds no secret in any commit of the repository', async () => {
    const { code, findings } = await scan(['git', '--config', join(repoRoot, '.gitleaks.toml'), repoRoot]);
    expect(findings.map((f) => `${f.RuleID} ${f.File}:${f.StartLine} (${f.Commit.slice(0, 8)})`)).toEqual([]);
    expect(code).toBe(0);
  }, 120_000);

  it('finds a secret where there is one (control)', async () => {
    const planted = join(dir, 'planted');
    await run('mkdir', ['-p', planted]);
    // An AWS access key id of the documented example's shape, assembled so this file holds none.
    const key = ['AKIA', 'QYLPMN5HRTFPZAM2'].join('');
    await writeFile(join(planted, 'config.env'), `AWS_ACCESS_KEY_ID=${key}\n`);
    const { code, findings } = await scan(['dir', '--config', join(repoRoot, '.gitleaks.toml'), planted]);
    expect(code).toBe(3);
    expect(findings.map((f) => f.RuleID)).toContain('aws-access-token');
  }, 60_000);
});
