// The CLI's numeric options take numbers written as the configuration's variables are (src/config-fields.ts):
// decimal digits only. Number() took "1e3", "0x10", "1." and "" (as 0), so a typo passed for a value nobody
// meant (src/cli/args.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { decimalArg, portArg, wholeNumberArg } from '../../src/cli/args.ts';

const run = promisify(execFile);
const refused = (parse: (v: string) => number, value: string) => {
  try {
    return `took "${value}" as ${parse(value)}`;
  } catch (err) {
    return err instanceof InvalidArgumentError ? (err.message as string) : `threw ${String(err)}`;
  }
};

describe('numeric CLI options', () => {
  it('take a whole number in decimal digits within its range, and refuse the rest saying what to use', () => {
    const atLeastOne = wholeNumberArg(1);
    expect(atLeastOne('16')).toBe(16);
    expect(atLeastOne(' 600 ')).toBe(600);
    for (const bad of ['1.', '1e3', '0x10', '', ' ', '-1', '0', '1.5', 'ten', '+3']) {
      expect(refused(atLeastOne, bad), bad).toBe('Use a whole number of at least 1, in decimal digits.');
    }
    expect(portArg('8080')).toBe(8080);
    expect(refused(portArg, '65536')).toBe('Use a whole number from 1 to 65535, in decimal digits.');
    expect(wholeNumberArg(0, 65535)('0')).toBe(0);
  });

  it('take a decimal number of seconds, and refuse exponents, hex and bare points', () => {
    const seconds = decimalArg(1);
    expect(seconds('2.5')).toBe(2.5);
    expect(seconds('30')).toBe(30);
    for (const bad of ['1e2', '0x10', '.5', '2.', '', '0.5', '-3', 'Infinity']) {
      expect(refused(seconds, bad), bad).toBe('Use a number of at least 1, in decimal digits.');
    }
  });

  // Exit 2, as for any input of the caller's that is wrong (src/cli/main.ts), not commander's own 1.
  it('prism bench --tasks 1e3 exits 2 naming the option and the value, before it connects to anything', async () => {
    const err = await prismFails('bench', '--tasks', '1e3');
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(
      "option '--tasks <n>' argument '1e3' is invalid. Use a whole number of at least 1",
    );
  });

  it('prism task submit --timeout takes seconds within the agent timeout limits', async () => {
    const err = await prismFails(
      'task',
      'submit',
      '--type',
      'MONITORING',
      '--query',
      'q',
      '--timeout',
      '0.5',
    );
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(
      "'--timeout <seconds>' argument '0.5' is invalid. Use a number from 1 to 3600",
    );
  });
});

/** How `prism <args>` failed: its exit code and what it printed on stderr (it must not succeed). */
async function prismFails(...args: string[]): Promise<{ code: number; stderr: string }> {
  const ran = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args]).then(
    () => null,
    (e: unknown) => e as { code: number; stderr: string },
  );
  if (!ran) throw new Error(`prism ${args.join(' ')} succeeded`);
  return ran;
}
