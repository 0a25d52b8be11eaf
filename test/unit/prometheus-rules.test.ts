// The Prometheus rules are code with tests of their own: promtool checks them and runs their unit tests
// (stack/prometheus/rules/tests/*.yml). These run both, and check what promtool does not: that every alert
// carries what Alertmanager routes on and what a responder needs, and that every rule is tested.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface TestFile {
  rule_files: string[];
  tests: {
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    promql_expr_test?: { expr: string }[];
  }[];
}

const promtoolPath = '/usr/bin/promtool';
const dir = 'stack/prometheus/rules';
const recordingFile = `${dir}/recording.yml`;
const alertsFile = `${dir}/alerts.yml`;
const testFiles = readdirSync(`${dir}/tests`)
  .filter((name) => name.endsWith('.yml'))
  .sort()
  .map((name) => `${dir}/tests/${name}`);

const rulesOf = (file: string) =>
  (parse(readFileSync(file, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules);
const recordingRules = rulesOf(recordingFile);
const alertRules = rulesOf(alertsFile);
const tests = testFiles.flatMap((file) => (parse(readFileSync(file, 'utf8')) as TestFile).tests);

// The alerts the product promises, with their `for:` (DeadLetterGrowing has none: its window is in expr).
const requiredAlerts: Record<string, string | undefined> = {
  ServiceDown: '1m',
  ExporterDown: '2m',
  TaskFailureRatioHigh: '10m',
  StepLatencyHigh: '10m',
  KafkaConsumerLagHigh: '10m',
  DeadLetterGrowing: undefined,
  RedisMemoryNearMax: '5m',
  DiskFilling: '5m',
  TemporalScheduleToStartHigh: '10m',
  NoAgentAlive: '2m',
  AlertQueueBacklog: '10m',
};

const run = promisify(execFile);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs promtool and returns what it printed; a failure carries promtool's own output. */
async function promtool(...args: string[]): Promise<string> {
  if (!existsSync(promtoolPath)) {
    throw new Error(
      `${promtoolPath} is missing: \`prism stack up\` installs it with Debian's prometheus package ` +
        '(or: apt-get install prometheus)',
    );
  }
  try {
    const { stdout, stderr } = await run(promtoolPath, args);
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

describe('Prometheus rules (promtool)', () => {
  it('pass `promtool check rules`, which finds every rule of each file', async () => {
    const output = await promtool('check', 'rules', recordingFile, alertsFile);
    for (const [file, rules] of [
      [recordingFile, recordingRules],
      [alertsFile, alertRules],
    ] as const) {
      const found = new RegExp(`Checking ${escape(file)}\\n\\s*SUCCESS: (\\d+) rules found`).exec(output);
      expect(found, `${file} in:\n${output}`).not.toBeNull();
      expect(Number(found![1]), file).toBeGreaterThan(0);
      expect(Number(found![1]), file).toBe(rules.length);
    }
  });

  it('pass their unit tests (`promtool test rules`)', async () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const output = await promtool('test', 'rules', ...testFiles);
    for (const file of testFiles) {
      expect(output, output).toMatch(new RegExp(`Unit Testing: +${escape(file)}\\n\\s*SUCCESS`));
    }
  });
});

describe('Prometheus alert rules', () => {
  it('include every alert the product promises, with its `for:`', () => {
    for (const [name, duration] of Object.entries(requiredAlerts)) {
      const rules = alertRules.filter((rule) => rule.alert === name);
      expect(rules.length, name).toBeGreaterThan(0);
      for (const rule of rules) expect(rule.for, name).toBe(duration);
    }
  });

  it('give every alert a severity, a component, a summary, a description and its runbook', () => {
    for (const rule of alertRules) {
      const name = rule.alert!;
      expect(['info', 'warning', 'critical'], `${name} severity`).toContain(rule.labels?.severity);
      expect(rule.labels?.component, `${name} component`).toMatch(/\S/);
      expect(rule.annotations?.summary, `${name} summary`).toMatch(/\S/);
      expect(rule.annotations?.description, `${name} description`).toMatch(/\S/);
      expect(rule.annotations?.runbook, `${name} runbook`).toBe(`docs/monitoring.md#${name.toLowerCase()}`);
    }
  });

  it('make every alert fire in at least one promtool test', () => {
    const fired = new Set(
      tests
        .flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0))
        .map((a) => a.alertname),
    );
    for (const name of new Set(alertRules.map((rule) => rule.alert!))) expect(fired, name).toContain(name);
  });

  it('check every recording rule in a promtool test', () => {
    const checked = new Set(tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr.trim())));
    for (const rule of recordingRules) expect(checked, rule.record).toContain(rule.record);
  });

  it('load both rule files in every test file, as promtool resolves them (relative to the test file)', () => {
    for (const file of testFiles) {
      expect((parse(readFileSync(file, 'utf8')) as TestFile).rule_files, file).toEqual([
        '../recording.yml',
        '../alerts.yml',
      ]);
    }
  });
});
