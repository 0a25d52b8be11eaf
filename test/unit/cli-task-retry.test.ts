// `prism task retry` checks its reason and its operator as the API checks a retry's body, before it connects
// to anything: exit 2 naming the option (src/cli/task-steering.ts, src/task/actions.ts retryOptionProblems).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { retryOptionProblems } from '../../src/task/actions.ts';

const run = promisify(execFile);

describe('a retry’s reason and requester', () => {
  it('are refused past their limits or with a NUL, named as the caller gave them', () => {
    const cli = { reason: '--reason', requestedBy: 'PRISM_OPERATOR' };
    expect(retryOptionProblems({ reason: 'press 3 is back', requestedBy: 'cli:alice' }, cli)).toEqual([]);
    expect(retryOptionProblems({ requestedBy: 'cli:alice' }, cli)).toEqual([]);
    expect(retryOptionProblems({ reason: 'x'.repeat(4001), requestedBy: 'cli:alice' }, cli)).toEqual([
      { field: '--reason', message: expect.stringMatching(/4000/) },
    ]);
    expect(retryOptionProblems({ reason: 'a\u0000b', requestedBy: `cli:${'o'.repeat(200)}` }, cli)).toEqual([
      { field: '--reason', message: expect.any(String) },
      { field: 'PRISM_OPERATOR', message: expect.stringMatching(/200/) },
    ]);
  });

  it('prism task retry exits 2 naming --reason, before it connects to anything', async () => {
    const err = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'task', 'retry', 'some-task', '--reason', 'x'.repeat(4001)],
      { env: { ...process.env, PRISM_OPERATOR: 'tester' } },
    ).then(
      () => null,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/--reason/);
  });
});
