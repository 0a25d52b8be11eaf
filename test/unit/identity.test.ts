// Who holds which secret: the task worker none of the backups', the maintenance worker the backups' and what
// its scans and escalations log in with; each process `prism up` starts gets its component's and no other.
import { describe, expect, it } from 'vitest';
import { appProcesses, componentProcessEnv } from '../../src/app/index.ts';
import { ConfigError, parseConfig } from '../../src/config.ts';
import { components, componentSecrets, isSecretVariable } from '../../src/identity.ts';
import { generatedSecretNames } from '../../src/stack/secrets.ts';

const backupSecrets = ['POSTGRES_BACKUP_PASSWORD', 'REDIS_BACKUP_PASSWORD', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'];
// Every secret a machine's stack has, each a value of its own.
const everySecret = Object.fromEntries(generatedSecretNames.map((name) => [name, `value-of-${name}-123`]));

describe('the workers’ identities', () => {
  it('gives the task worker no backup secret, and the maintenance worker every one', () => {
    for (const secret of backupSecrets) {
      expect(componentSecrets.worker, secret).not.toContain(secret);
      expect(componentSecrets.maintenance, secret).toContain(secret);
    }
  });

  it('gives the maintenance worker the logins its scans and escalations use, and nothing an operator has', () => {
    const { postgres, redis, kafka } = components.maintenance;
    expect(componentSecrets.maintenance).toEqual(
      expect.arrayContaining([
        `POSTGRES_${postgres.toUpperCase()}_PASSWORD`,
        `REDIS_${redis.toUpperCase()}_PASSWORD`,
        `KAFKA_${kafka.toUpperCase()}_PASSWORD`,
        'INFLUX_PASSWORD',
      ]),
    );
    for (const stack of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'KAFKA_ADMIN_PASSWORD'])
      expect(componentSecrets.maintenance).not.toContain(stack);
  });

  it('starts each worker of `prism up` with its own secrets only', () => {
    const processEnv = { ...everySecret, PRISM_SECRETS_FILE: 'none', PATH: '/usr/bin' };
    const secretsOf = (component: keyof typeof componentSecrets) =>
      Object.keys(componentProcessEnv(component, processEnv)).filter(isSecretVariable).sort();
    const worker = appProcesses.find((p) => p.name === 'worker')!;
    const maintenance = appProcesses.find((p) => p.name === 'maintenance-worker')!;
    expect(maintenance).toMatchObject({ component: 'maintenance', args: ['maintenance-worker'] });
    const workerSecrets = secretsOf(worker.component);
    expect(workerSecrets.filter((s) => backupSecrets.includes(s))).toEqual([]);
    expect(secretsOf(maintenance.component)).toEqual(expect.arrayContaining(backupSecrets));
    // Each validates with what it was given: a worker started with only its own variables runs.
    for (const p of [worker, maintenance]) {
      const own = componentProcessEnv(p.component, processEnv) as Record<string, string>;
      expect(() => parseConfig(own, p.component as 'worker' | 'maintenance'), p.name).not.toThrow();
    }
  });

  it('refuses a maintenance queue that is the task queue, naming the variable', () => {
    const raw = { ...everySecret, TEMPORAL_MAINTENANCE_TASK_QUEUE: 'prism-orchestration' };
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(
      /TEMPORAL_MAINTENANCE_TASK_QUEUE: the same queue as TEMPORAL_TASK_QUEUE/,
    );
    expect(parseConfig(everySecret).TEMPORAL_MAINTENANCE_TASK_QUEUE).toBe('prism-maintenance');
  });
});
