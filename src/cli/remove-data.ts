// `--remove-data` of `prism stack down` and `prism down` (spec 5.2, `docker compose down -v`): what it
// deletes, printed before anything is stopped, and the confirmation it needs — "yes" typed at a terminal,
// or `--yes` from a script. Without a terminal and without `--yes` it refuses, and nothing is changed.
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { PrismError } from '../errors.ts';

export interface RemoveDataFlags {
  removeData?: boolean;
  yes?: boolean;
}

export function withRemoveData(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--remove-data',
        "then delete every service's data directory (asks first; the logs, secrets and backups stay)",
      ),
    )
    .option('--yes', 'confirm --remove-data without asking (for scripts)');
}

/**
 * Prints what will be removed (to stderr) and asks for it to be confirmed; throws CONFIRMATION_REQUIRED
 * (exit 2) when it is not. `what` names each directory (or, under Compose, each volume).
 */
export async function confirmRemoval(
  what: string[],
  where: string,
  flags: RemoveDataFlags,
  io: { input: NodeJS.ReadStream; output: NodeJS.WritableStream } = {
    input: process.stdin,
    output: process.stderr,
  },
): Promise<void> {
  io.output.write(
    what.length
      ? `--remove-data deletes, once the services are stopped:\n${what.map((d) => `  ${d}\n`).join('')}` +
          `(${where})\n`
      : `--remove-data: there is no service data to delete (${where})\n`,
  );
  if (flags.yes || what.length === 0) return;
  if (!io.input.isTTY)
    throw new PrismError(
      'CONFIRMATION_REQUIRED',
      '--remove-data deletes the data above and there is no terminal to confirm it on: ' +
        'pass --yes to confirm. Nothing was stopped or removed.',
    );
  const rl = createInterface({ input: io.input, output: io.output });
  try {
    const answer = await rl.question('Type "yes" to stop the services and delete it: ');
    if (answer.trim() !== 'yes')
      throw new PrismError(
        'CONFIRMATION_REQUIRED',
        `--remove-data was not confirmed ("${answer.trim()}"). Nothing was stopped or removed.`,
      );
  } finally {
    rl.close();
  }
}
