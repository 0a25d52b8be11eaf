// `prism agent run`: a real agent process that registers, prints one ready line, and goes OFFLINE on SIGTERM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { registerAgentCommands } from '../../../src/cli/agent.ts';
import { createRedis } from '../../../src/clients/redis.ts';
import { createPrisma } from '../../../src/db/prisma.ts';
import { createAgentStateStore } from '../../../src/stores/redis/agent-state.ts';
import { env, testId, waitFor } from '../../helpers.ts';

const script = fileURLToPath(new URL('./fixtures/agent-cli.ts', import.meta.url));

describe('prism agent run', () => {
  const prisma = createPrisma(env);
  const redis = createRedis(env);
  const agentId = testId('cliagent');

  afterAll(async () => {
    await createAgentStateStore(redis).remove(agentId);
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await Promise.all([prisma.$disconnect(), redis.quit()]);
  });

  it('refuses an unknown type, naming the four types', async () => {
    const program = new Command('prism').exitOverride();
    registerAgentCommands(program);
    await expect(program.parseAsync(['node', 'prism', 'agent', 'run', '--type', 'welding'])).rejects.toThrow(
      '--type "welding" is unknown: use one of MONITORING, PREDICTION, CONTROL, ANALYSIS',
    );
  });

  it('runs the reference agent until SIGTERM, then marks it OFFLINE and exits', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, 'agent', 'run', '--type', 'prediction', '--id', agentId],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(
        `the ready line (stderr so far: ${stderr})`,
        () => (stdout.includes('ready') ? true : undefined),
        45_000,
      );
      expect(stdout).toBe(
        `PREDICTION agent ${agentId} ready (kafka: topics agent.orchestration.commands.prediction, agent.orchestration.commands, group prism-agents-prediction); Ctrl-C stops it\n`,
      );
      expect(await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
        type: 'PREDICTION',
        transport: 'KAFKA',
        status: 'ONLINE',
        name: 'Reference prediction agent',
        // What lets the orchestrator send PREDICTION commands on the type's own topic.
        config: { commandsTopic: 'agent.orchestration.commands.prediction' },
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stdout).toContain(`PREDICTION agent ${agentId} stopped (OFFLINE)`);
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).toMatchObject({
      status: 'OFFLINE',
    });
    expect(await createAgentStateStore(redis).get(agentId)).toMatchObject({ status: 'OFFLINE' });
  });
});
