// Lint what the Temporal sandbox cannot forgive: workflow code must stay deterministic, so it may not import
// Node built-ins or store clients; and an un-awaited promise anywhere loses errors.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg',
  'ioredis',
  'kafkajs',
  'weaviate-client',
  '@influxdata/influxdb-client',
  '@prisma/client',
  '@prisma/adapter-pg',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  'prom-client',
];

// Only the PostgreSQL store (src/stores/postgres) and the client's setup (src/db) touch Prisma: everything
// else calls a store function, so each table has one module that writes it and one place to read its SQL.
const prismaStore = ['src/stores/postgres/**/*.ts', 'src/db/**/*.ts'];
const prismaImports = {
  group: ['**/generated/prisma/**', '**/generated/prisma', '@prisma/*'],
  message:
    'Only the PostgreSQL store (src/stores/postgres) uses Prisma and its generated types: call or add a store function there (it re-exports the row types you need).',
};
const prismaModels = [
  'agent',
  'agentSubtask',
  'alertConfig',
  'apiKey',
  'backupRun',
  'constraint',
  'constraintViolation',
  'executionPlan',
  'knowledgeDocument',
  'permission',
  'role',
  'rolePermission',
  'task',
  'taskHistory',
  'user',
  'userFeedback',
  'userQuery',
  'userRole',
  'workflowDefinition',
];
const prismaOperations = [
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'count',
  'aggregate',
  'groupBy',
];
const prismaQueryMessage =
  'Only the PostgreSQL store (src/stores/postgres) queries Prisma, also through a client passed in: move the query into a store function.';
const stackImports = {
  group: ['**/stack/**', '../stack/*', './stack/*'],
  message: 'The core must not import the local service installer (src/stack); pass what it needs in.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'src/generated/', 'coverage/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: prismaStore,
    rules: {
      'no-restricted-imports': ['error', { patterns: [prismaImports] }],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'MemberExpression[property.name=/^\\$(queryRaw|queryRawUnsafe|executeRaw|executeRawUnsafe|transaction)$/]',
          message: prismaQueryMessage,
        },
        {
          selector: `MemberExpression[object.type='MemberExpression'][object.property.name=/^(${prismaModels.join('|')})$/][property.name=/^(${prismaOperations.join('|')})$/]`,
          message: prismaQueryMessage,
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...forbiddenInWorkflows.map((name) => ({
              name,
              message: 'Workflow code must be deterministic: do I/O in an activity (activities/) instead.',
            })),
            {
              name: 'zod',
              message:
                'Temporal evaluates workflow modules for every run: validate in the entry points and activities, not here.',
              allowTypeImports: true,
            },
          ],
          patterns: [
            {
              // Value imports from src/ are limited to the task's pure contract (no I/O, no Node built-ins,
              // no zod): src/task/contract.ts and search-attributes.ts, src/backup/contract.ts and search-attributes.ts.
              group: [
                '**/activities/**',
                '**/src/**/*.ts',
                '!**/src/task/contract.ts',
                '!**/src/task/search-attributes.ts',
                '!**/src/backup/contract.ts',
                '!**/src/backup/search-attributes.ts',
              ],
              message:
                'Workflows may import activity types and the pure task contract (src/task/contract.ts) only (`import type` otherwise).',
              allowTypeImports: true,
            },
            prismaImports,
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'process', message: 'Workflow code has no process: pass values as workflow arguments.' },
      ],
    },
  },
  {
    // The product's core never reaches into the local service installer (src/stack): it runs the same
    // against any PostgreSQL, Kafka, ... that its configuration names.
    files: [
      'activities/**/*.ts',
      'src/{agents,api,db,provision,sdk,stores,task,worker}/**/*.ts',
      'src/{config,metrics,progress,repo,validation}.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [stackImports, prismaImports],
        },
      ],
    },
  },
  {
    // The PostgreSQL store itself: Prisma is its job (the core's fence around src/stack still holds).
    files: prismaStore,
    rules: { 'no-restricted-imports': ['error', { patterns: [stackImports] }] },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.mjs', 'test/fixtures/**/*.js', 'eslint.config.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
      },
    },
  },
);
