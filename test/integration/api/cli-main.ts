// `prism` with only the API commands, as main.ts wires them: run by the CLI test in a child process.
import { Command } from 'commander';
import { registerApiCommands } from '../../../src/cli/api.ts';

const program = new Command('prism').exitOverride();
registerApiCommands(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`prism: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
