// The Temporal side of provisioning: the deployment's namespace (TEMPORAL_NAMESPACE) and the custom search
// attributes that make task runs findable in the Temporal UI. Idempotent: a second run changes nothing.
// A namespace of its own is how a second deployment (e.g. the tests) shares one Temporal server with the
// running system without either picking up the other's workflows or activities.
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import type { Progress } from '../../progress.ts';
import { connectToFrontend, type TemporalEnv } from '../../clients/temporal.ts';

/** The custom search attributes of task runs (all keywords), as the workflow and its starters set them. */
export const taskSearchAttributes = ['TaskId', 'AgentType', 'TaskPriority', 'TaskStatus'] as const;
/** Those of backup runs (src/backup/search-attributes.ts). */
export const backupSearchAttributes = ['BackupId', 'BackupOutcome'] as const;
/** Every custom search attribute the product registers (all keywords). */
export const productSearchAttributes = [...taskSearchAttributes, ...backupSearchAttributes] as const;

const retentionDays = 7;
const readyTimeoutMs = 60_000;

export interface TemporalProvisionResult {
  namespace: string;
  createdNamespace: boolean;
  addedSearchAttributes: string[];
}

const grpcCode = (err: unknown): number | undefined => (err as { code?: number }).code;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const INVALID_ARGUMENT = 3;

export async function provisionTemporal(
  env: TemporalEnv,
  progress: Progress,
): Promise<TemporalProvisionResult> {
  const namespace = env.TEMPORAL_NAMESPACE;
  const connection = await connectToFrontend(env, (target) =>
    Connection.connect({ ...target, connectTimeout: '5s' }),
  );
  try {
    const { workflowService, operatorService } = connection;
    let createdNamespace = false;
    try {
      await workflowService.describeNamespace({ namespace });
    } catch (err) {
      if (grpcCode(err) !== NOT_FOUND) throw err;
      try {
        await workflowService.registerNamespace({
          namespace,
          description: 'PRISM Orchestration',
          workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
        });
        createdNamespace = true;
        progress.step(`Temporal: registered namespace ${namespace} (history kept ${retentionDays} days)`);
      } catch (e) {
        if (grpcCode(e) !== ALREADY_EXISTS) throw e;
      }
    }
    // A new namespace reaches the server's namespace cache some seconds after it is registered; until then
    // workers and starters are told it does not exist. Wait until a call that goes through the cache works.
    await untilServed(() => workflowService.countWorkflowExecutions({ namespace, query: '' }), namespace);

    const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
    const missing = productSearchAttributes.filter((name) => !(name in customAttributes));
    if (missing.length > 0) {
      await operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          missing.map((name) => [
            name,
            proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
          ]),
        ),
      });
      progress.step(`Temporal: added search attributes ${missing.join(', ')} to ${namespace}`);
    }
    // Added attributes reach the frontends' namespace cache some seconds later (it refreshes every 10 s);
    // until then a start that sets them is refused ("no mapping defined for search attribute"). A query that
    // names every one of them goes through the same mapping: wait until it is accepted.
    const query = productSearchAttributes.map((name) => `${name} = ''`).join(' AND ');
    await untilServed(
      () => workflowService.countWorkflowExecutions({ namespace, query }),
      namespace,
      INVALID_ARGUMENT,
    );
    return { namespace, createdNamespace, addedSearchAttributes: missing };
  } finally {
    await connection.close();
  }
}

async function untilServed(
  call: () => Promise<unknown>,
  namespace: string,
  notYet = NOT_FOUND,
): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    try {
      await call();
      return;
    } catch (err) {
      if (grpcCode(err) !== notYet || Date.now() > deadline) {
        throw new Error(`Temporal namespace ${namespace} is not usable: ${(err as Error).message}`);
      }
      await sleep(500);
    }
  }
}
