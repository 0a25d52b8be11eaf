// A data directory of an earlier version, whose engine was the Temporal CLI's development server: its SQLite
// file `temporal/temporal.db`. The Temporal server on PostgreSQL cannot read it, and nothing in it may be lost
// silently, so on the first start of the server in such a directory:
//   1. the runs still open in it are read out — the development server of that version (its binary from the
//      cache, installed again if missing) is started on the old file on free ports, headless, and every open
//      run of every namespace is saved with its start event (type, task queue, input, search attributes, memo,
//      timeouts) to `temporal/dev-server-open-runs.json`; Temporal's own system workflows (the schedules'
//      runners) are left out: `prism provision` makes the schedules again on the new server;
//   2. the file is moved to `temporal/dev-server-retired/` (kept, never deleted: its closed runs' histories);
//   3. once the new server serves, those runs are started again there — same namespace (registered if
//      missing), workflow id, type, task queue, input, search attributes and memo. Every workflow of the
//      product is idempotent by its id and its steps' keys, so an agent task started again runs from its start
//      and ends as it would have; a backup runs again. The list is then renamed `.started`.
// The runs' own histories up to then stay in the retired file; the new runs' first event names where they
// came from (identity).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Env } from '../config.ts';
import { provisionTemporal } from '../stores/temporal/provision.ts';
import { connectToFrontend } from '../clients/temporal.ts';
import { binaries, installTemporalCli } from './install.ts';
import type { StackPaths } from './paths.ts';
import { spawnDetached, stillRunning, stopProcess } from './process.ts';
import type { ServiceContext } from './services.ts';

const HistoryEvent = proto.temporal.api.history.v1.HistoryEvent;

/** An open run of the development server: its namespace and start event (protobuf, base64). */
export interface RetiredRun {
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  startEvent: string;
}

export const devServerFile = (dataDir: string) => join(dataDir, 'temporal.db');
export const openRunsFile = (dataDir: string) => join(dataDir, 'dev-server-open-runs.json');
export const retiredDir = (dataDir: string) => join(dataDir, 'dev-server-retired');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts the development server of earlier versions on `file` (headless, free ports), reads every open run of
 * every namespace with its start event, and stops it again.
 */
export async function exportOpenRuns(
  paths: StackPaths,
  file: string,
  logFile: string,
): Promise<RetiredRun[]> {
  const cli = binaries(paths).temporalCli;
  if (!existsSync(cli)) await installTemporalCli(paths, cli, join(paths.logs, 'install-temporal-cli.log'));
  const [port, metrics] = [await freePort(), await freePort()];
  const pidFile = join(paths.run, `temporal-dev-export-${process.pid}.pid`);
  const pid = spawnDetached({
    command: cli,
    args: [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--metrics-port',
      String(metrics),
      '--db-filename',
      file,
      '--log-level',
      'error',
    ],
    logFile,
    pidFile,
  });
  try {
    const connection = await connectWhenUp(`127.0.0.1:${port}`, pid);
    try {
      const runs: RetiredRun[] = [];
      const { namespaces } = await connection.workflowService.listNamespaces({ pageSize: 1000 });
      for (const ns of namespaces) {
        const namespace = ns.namespaceInfo?.name;
        if (!namespace || namespace === 'temporal-system') continue;
        let nextPageToken: Uint8Array | undefined;
        do {
          const page = await connection.workflowService.listWorkflowExecutions({
            namespace,
            query: 'ExecutionStatus = "Running"',
            pageSize: 500,
            nextPageToken,
          });
          for (const execution of page.executions) {
            const workflowType = execution.type?.name ?? '';
            if (workflowType.startsWith('temporal-sys-')) continue;
            const { workflowId, runId } = execution.execution ?? {};
            if (!workflowId || !runId) continue;
            const history = await connection.workflowService.getWorkflowExecutionHistory({
              namespace,
              execution: { workflowId, runId },
              maximumPageSize: 1,
            });
            const first = history.history?.events?.[0];
            if (!first?.workflowExecutionStartedEventAttributes) continue;
            runs.push({
              namespace,
              workflowId,
              runId,
              workflowType,
              startEvent: Buffer.from(HistoryEvent.encode(first).finish()).toString('base64'),
            });
          }
          nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
        } while (nextPageToken);
      }
      return runs;
    } finally {
      await connection.close();
    }
  } finally {
    await stopProcess(pid, 20_000);
    try {
      renameSync(pidFile, `${pidFile}.done`);
    } catch {
      // already gone
    }
  }
}

async function connectWhenUp(address: string, pid: number): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '2s' });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      if (!stillRunning(pid) || Date.now() > deadline)
        throw new Error(
          `the development server did not start on the old data to read its open runs: ${(err as Error).message}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Starts the runs again on the server `env` names, each in its namespace (registered, with the product's
 * search attributes, where missing). A run whose id already runs there is left alone. Returns how many
 * started.
 */
export async function startRetiredRuns(env: Env, runs: RetiredRun[]): Promise<number> {
  const quiet = { step: () => undefined } as unknown as Parameters<typeof provisionTemporal>[1];
  for (const namespace of new Set(runs.map((r) => r.namespace)))
    await provisionTemporal({ ...env, TEMPORAL_NAMESPACE: namespace }, quiet);
  const connection = await connectToFrontend(env, (target) =>
    Connection.connect({ ...target, connectTimeout: '10s' }),
  );
  let started = 0;
  try {
    for (const run of runs) {
      const event = HistoryEvent.decode(Buffer.from(run.startEvent, 'base64'));
      const a = event.workflowExecutionStartedEventAttributes!;
      try {
        await connection.workflowService.startWorkflowExecution({
          namespace: run.namespace,
          workflowId: run.workflowId,
          workflowType: a.workflowType,
          taskQueue: a.taskQueue,
          input: a.input,
          workflowExecutionTimeout: a.workflowExecutionTimeout,
          workflowRunTimeout: a.workflowRunTimeout,
          workflowTaskTimeout: a.workflowTaskTimeout,
          memo: a.memo,
          searchAttributes: a.searchAttributes,
          header: a.header,
          retryPolicy: a.retryPolicy,
          cronSchedule: a.cronSchedule || undefined,
          identity: `prism stack up: started again from the development server's run ${run.runId}`,
          requestId: randomUUID(),
        });
        started += 1;
      } catch (err) {
        if ((err as { code?: number }).code !== 6) throw err; // 6: ALREADY_EXISTS, started before
      }
    }
  } finally {
    await connection.close();
  }
  return started;
}

/** Step 1 and 2, before the server starts: read the open runs out, move the file aside. */
export async function retireDevServerData({ paths, dataDir, logFile }: ServiceContext): Promise<void> {
  const file = devServerFile(dataDir);
  if (!existsSync(file)) return;
  const note = (line: string) => writeFileSync(logFile, `${line}\n`, { flag: 'a' });
  note(`temporal: ${file} is the development server's (an earlier version): reading its open runs`);
  const runs = await exportOpenRuns(paths, file, logFile);
  writeFileSync(openRunsFile(dataDir), `${JSON.stringify(runs, null, 2)}\n`);
  const dir = retiredDir(dataDir);
  mkdirSync(dir, { recursive: true });
  for (const name of ['temporal.db', 'temporal.db-wal', 'temporal.db-shm'])
    if (existsSync(join(dataDir, name))) renameSync(join(dataDir, name), join(dir, name));
  note(
    `temporal: ${runs.length} open run(s) saved to ${openRunsFile(dataDir)}, to start again on the Temporal server; the old file is kept in ${dir}`,
  );
}

/** Step 3, once the server serves: start the saved runs again (once). Returns how many started. */
export async function restartRetiredRuns({ env, dataDir, logFile }: ServiceContext): Promise<number> {
  const file = openRunsFile(dataDir);
  if (!existsSync(file)) return 0;
  const runs = JSON.parse(readFileSync(file, 'utf8')) as RetiredRun[];
  const started = await startRetiredRuns(env as Env, runs);
  renameSync(file, `${file}.started`);
  writeFileSync(
    logFile,
    `temporal: ${started} of ${runs.length} run(s) of the development server started again on the Temporal server\n`,
    { flag: 'a' },
  );
  return started;
}
