import { defineConfig } from 'vitest/config';
import { testEnvironment } from './test/environment.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        // Pure logic, and the workflow on stub activities in Temporal's time-skipping test server: no
        // service, no stack (`npm run test:unit`).
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/workflows/**/*.test.ts'],
          // Installs Temporal's time-skipping test server (a tool, not a service) when it is missing.
          globalSetup: ['test/setup/test-server.ts'],
        },
      },
      {
        // One real service (or a few) each, in the tests' own deployment (test/environment.ts); the setup starts
        // the stack when it is not up, then migrates and provisions that deployment (`npm run test:integration`).
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          env: testEnvironment,
          globalSetup: ['test/setup/stack.ts'],
          // Files run one after another: the services share two cores, and some tests restart processes.
          fileParallelism: false,
        },
      },
      {
        // The whole flow through every store, and what spans them all: backups and their restore, faults on a
        // scratch stack (chaos), durability, the UI, Schemathesis (`npm run test:e2e`; the longest, last).
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env: testEnvironment,
          globalSetup: ['test/setup/stack.ts'],
          // As integration: one file at a time (chaos and durability kill processes others would need).
          fileParallelism: false,
        },
      },
      {
        // The cluster topology (docs/scaling.md): its setup brings every node up; the nodes' faults
        // (test/cluster/) and the whole flow, the Python SDK and a backup with its drill, run against it
        // (`npm run test:cluster`; after the others: it needs the machine to itself).
        extends: true,
        test: {
          name: 'cluster',
          include: [
            'test/cluster/**/*.test.ts',
            'test/e2e/task-flow.test.ts',
            'test/e2e/python-sdk.test.ts',
            'test/e2e/backup.test.ts',
          ],
          env: { ...testEnvironment, PRISM_TOPOLOGY: 'cluster' },
          globalSetup: ['test/setup/cluster.ts'],
          // A node's fault, its failover and its catching up take minutes (a restarted Weaviate node holds what
          // it missed after about a minute; Patroni's failover about 20 s).
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
