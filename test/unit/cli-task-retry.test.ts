// `prism task retry` checks its reason and its operator as the API checks a retry's body, before it connects
// to anything: exit 2 naming the option (src/cli/task-steering.ts, src/task/actions.ts retryOptionProblems);
// and a retry whose start input would pass Temporal's payload limit is refused with a reason.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PrismError } from '../../src/errors.ts';
import { checkRetryInputSize, maxRetryInputBytes, retryOptionProblems } from '../../src/task/actions.ts';

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

describe('a retry’s start input', () => {
  it('is refused with TASK_NOT_RETRYABLE, not a gRPC error, when its reused answers pass 1.5 MB', () => {
    const small = { requestId: 'r', query: 'q', retry: { completed: { a: { result: { text: 'x' } } } } };
    expect(() => checkRetryInputSize('t1', 'FAILED', small, 'judge')).not.toThrow();
    const big = {
      ...small,
      retry: { completed: { a: { result: { text: 'x'.repeat(maxRetryInputBytes) } } } },
    };
    const err = (() => {
      try {
        checkRetryInputSize('t1', 'FAILED', big, 'judge');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(PrismError);
    expect((err as PrismError).code).toBe('TASK_NOT_RETRYABLE');
    expect((err as Error).message).toMatch(/1\.5 MB.*2 MB.*before "judge"/);
  });
});
