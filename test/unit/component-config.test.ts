// Configuration by component: each process reads and validates its own component's variables only. The scan
// reads the code each component runs (the modules its entry point imports, transitively, type-only imports
// left out) for the variables it names: one missing from componentVariables would be read at its default
// whatever the user set, and this test fails instead.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, componentVariables, envSchema, parseConfig } from '../../src/config.ts';
import { stackSchema, parseStackConfig } from '../../src/stack/config.ts';

const entries = {
  worker: ['src/worker/index.ts'],
  maintenance: ['src/worker/maintenance.ts'],
  api: ['src/api/server.ts'],
  agent: ['src/cli/agent.ts'],
  migrator: ['src/cli/migrate.ts'],
} as const satisfies Record<keyof typeof componentVariables, string[]>;

// The configuration itself and the table of identities name every variable; they read none on their own.
const skipped = new Set(
  ['src/config.ts', 'src/identity.ts', 'src/stack-settings.ts', 'src/stack/config.ts'].map((f) => resolve(f)),
);
const variables = [...Object.keys(envSchema.shape), ...Object.keys(stackSchema.shape)];
// Named in a module a component imports, by a function only the installer calls.
const installerOnly = {
  POSTGRES_TEMPORAL_PASSWORD: 'src/db/roles.ts', // provisionTemporalRole: `prism stack up` (src/stack/temporal.ts)
} as Record<string, string>;

function modulesOf(entry: string): string[] {
  const seen = new Set<string>();
  const stack = [resolve(entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file) || skipped.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(
      /^(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gms,
    )) {
      const target = resolve(dirname(file), m[1] ?? m[2]!);
      if (target.endsWith('.ts') && existsSync(target)) stack.push(target);
    }
  }
  return [...seen];
}

function variablesNamedBy(entry: string): Map<string, string> {
  const named = new Map<string, string>();
  for (const file of modulesOf(entry)) {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const v of variables) if (new RegExp(`\\b${v}\\b`).test(code)) named.set(v, relative('.', file));
  }
  return named;
}

describe('each component validates the variables its code reads', () => {
  for (const [component, roots] of Object.entries(entries)) {
    it(`${component}: every variable its code names is its own`, () => {
      const own = new Set<string>(componentVariables[component as keyof typeof entries]);
      const notOwn = roots
        .flatMap((root) => [...variablesNamedBy(root)])
        .filter(([v, file]) => !own.has(v) && installerOnly[v] !== file)
        .map(([v, file]) => `${v} (${file})`);
      expect(notOwn).toEqual([]);
    });
  }

  it('the task worker holds no backup setting, and no component an installer setting', () => {
    expect(componentVariables.worker).not.toContain('PRISM_BACKUP_DIR');
    for (const own of Object.values(componentVariables))
      for (const v of Object.keys(stackSchema.shape)) expect(own).not.toContain(v);
  });
});

describe('a process started with its own variables', () => {
  const worker = {
    POSTGRES_APP_PASSWORD: 'secret-app',
    REDIS_WORKER_PASSWORD: 'secret-redis',
    KAFKA_WORKER_PASSWORD: 'secret-kafka',
    INFLUX_PASSWORD: 'secret-influx',
  };

  it("runs whatever another component's or the installer's variables hold", () => {
    const env = parseConfig(
      {
        ...worker,
        KAFKA_HEAP: 'banana',
        PRISM_STACK_MODE: 'nonsense',
        API_PORT: 'banana',
        PRISM_BACKUP_DESTINATION: 'nowhere',
        BACKUP_SCHEDULE: 'never',
      },
      'worker',
    );
    expect(env.API_PORT).toBe(3000);
    expect(env.KAFKA_HEAP).toBe('512m');
  });

  it('stops naming a variable of its own that is missing or bad', () => {
    const problems = (raw: Record<string, string>, component: 'worker' | 'api') => {
      try {
        parseConfig(raw, component);
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.field);
      }
    };
    const { INFLUX_PASSWORD: _, ...noInflux } = worker;
    expect(problems(noInflux, 'worker')).toEqual(['INFLUX_PASSWORD']);
    expect(problems({ ...worker, WORKER_METRICS_PORT: 'banana' }, 'worker')).toEqual(['WORKER_METRICS_PORT']);
    expect(problems({ ...worker, TEMPORAL_TLS_CA_FILE: '/nonexistent' }, 'worker')).toEqual(
      expect.arrayContaining(['TEMPORAL_TLS_CA_FILE']),
    );
    expect(problems({ INFLUX_PASSWORD: 'secret-influx', API_PORT: 'banana' }, 'api')).toEqual(
      expect.arrayContaining(['API_PORT', 'POSTGRES_APP_PASSWORD', 'REDIS_API_PASSWORD']),
    );
  });

  it('the installer validates its own settings, naming a bad one', () => {
    expect(() => parseStackConfig({ ...worker, KAFKA_HEAP: 'banana' })).toThrow(/KAFKA_HEAP/);
    expect(() => parseStackConfig({ ...worker, PRISM_STACK_MODE: 'nonsense' })).toThrow(/PRISM_STACK_MODE/);
    expect(parseStackConfig({ ...worker, KAFKA_PORT: '29092' }).KAFKA_JMX_EXPORTER_PORT).toBe(29308);
    // An operator's command other than the installer's takes a bad one at its default.
    expect(parseConfig({ ...worker, KAFKA_HEAP: 'banana' }).KAFKA_HEAP).toBe('512m');
  });
});
