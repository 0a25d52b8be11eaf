import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every integration test talks to the real services; the setup starts the stack when it is not up.
    globalSetup: ['test/setup/stack.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run one after another: the services share two cores, and the stack test restarts some of them.
    fileParallelism: false,
    reporters: ['default'],
  },
});
