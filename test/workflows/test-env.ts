// The workflow tests' Temporal: the time-skipping test server (installed by the unit project's setup), quiet,
// with the task's search attributes registered as `prism provision` registers them on the real server.
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { taskSearchAttributes } from '../../src/stores/temporal/provision.ts';
import { testServerExecutable } from '../setup/test-server.ts';

export async function startWorkflowTestEnv(): Promise<TestWorkflowEnvironment> {
  // Quiet: the test server does not advertise a capability the SDK warns about on every worker.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const testEnv = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerExecutable() } },
  });
  // The workflow sets the task's search attributes, which a server must know.
  await testEnv.connection.operatorService.addSearchAttributes({
    namespace: testEnv.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      taskSearchAttributes.map((name) => [
        name,
        proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return testEnv;
}
