// Least privilege: who connects to PostgreSQL, Redis and Kafka as whom. Each process runs as one component
// (the worker, the API, an agent, `prism migrate`, an operator's command), and each component logs in to each
// store as the role or user made for its job, with the password the stack generated for that role alone.
// The bootstrap superuser (POSTGRES_USER/POSTGRES_PASSWORD), the Redis `admin` (REDIS_PASSWORD) and the Kafka
// `admin` (KAFKA_ADMIN_PASSWORD) are the stack's own: setting up roles and users, and the operator's tools.
// docs/security.md lists what each role may do; stack/postgres/*.sql, src/stack/redis-acl.ts and
// src/stores/kafka/acl.ts grant it.
import type { Env } from './config.ts';

/** PostgreSQL roles by job. `admin` is the bootstrap superuser, named by POSTGRES_USER. */
export const postgresRoles = {
  admin: '',
  /** Owns the schema: `prism migrate` (CREATE, ALTER, DROP in the product's database). */
  migrator: 'prism_migrator',
  /** The worker and the API: SELECT, INSERT, UPDATE, DELETE on the product's tables. */
  app: 'prism_app',
  /** Agents: their rows in `agents`, the constraints, the violations they find. */
  agent: 'prism_agent',
  /** Backups and restores: reads everything, creates and renames the product's databases. */
  backup: 'prism_backup',
  /** postgres-exporter and Grafana: statistics, and reading the tables the dashboards show. */
  monitor: 'prism_monitor',
} as const;
export type PostgresRole = keyof typeof postgresRoles;

/** Redis ACL users by job (src/stack/redis-acl.ts has their keys and commands). */
export const redisUsers = ['admin', 'worker', 'api', 'agent', 'exporter', 'backup'] as const;
export type RedisUser = (typeof redisUsers)[number];

/** Kafka users by job (src/stores/kafka/acl.ts has their ACLs): `admin` logs in with PLAIN, the others with SCRAM. */
export const kafkaUsers = ['admin', 'worker', 'api', 'agent'] as const;
export type KafkaUser = (typeof kafkaUsers)[number];

/** The variable that holds each identity's password. The superuser's and Redis admin's keep their old names. */
export function postgresPasswordVariable(role: PostgresRole): keyof Env {
  return role === 'admin' ? 'POSTGRES_PASSWORD' : (`POSTGRES_${role.toUpperCase()}_PASSWORD` as keyof Env);
}
export function redisPasswordVariable(user: RedisUser): keyof Env {
  return user === 'admin' ? 'REDIS_PASSWORD' : (`REDIS_${user.toUpperCase()}_PASSWORD` as keyof Env);
}
export function kafkaPasswordVariable(user: KafkaUser): keyof Env {
  return `KAFKA_${user.toUpperCase()}_PASSWORD` as keyof Env;
}
export type KafkaMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
/** The stack's admin is defined in the broker's configuration (PLAIN); the components' users are SCRAM users. */
export function kafkaMechanism(user: string): KafkaMechanism {
  return user === 'admin' ? 'plain' : 'scram-sha-512';
}

/** The role name of a PostgreSQL identity in this configuration. */
export function postgresRoleName(env: Pick<Env, 'POSTGRES_USER'>, role: PostgresRole): string {
  return role === 'admin' ? env.POSTGRES_USER : postgresRoles[role];
}

/**
 * What each kind of process logs in as. `operator` is a person's command line and the tests: the
 * application's PostgreSQL role, and Redis' and Kafka's admin (an operator holds every secret anyway;
 * the commands that are a component — `prism worker`, `prism maintenance-worker`, `prism api`,
 * `prism agent run`, `prism migrate` — run as that component).
 */
export const components = {
  operator: { postgres: 'app', redis: 'admin', kafka: 'admin' },
  admin: { postgres: 'admin', redis: 'admin', kafka: 'admin' },
  migrator: { postgres: 'migrator' },
  worker: { postgres: 'app', redis: 'worker', kafka: 'worker' },
  // The maintenance worker writes what the worker's users may (backup runs and violations in PostgreSQL, the
  // alert store in Redis, alerts and violations on Kafka), and backs up as the backup identities (asBackup).
  // It reuses the worker's Redis and Kafka users: a user of its own would need a new password in both stacks
  // for rights that are a subset of the worker's.
  maintenance: { postgres: 'app', redis: 'worker', kafka: 'worker' },
  api: { postgres: 'app', redis: 'api', kafka: 'api' },
  agent: { postgres: 'agent', redis: 'agent', kafka: 'agent' },
} as const satisfies Record<string, { postgres?: PostgresRole; redis?: RedisUser; kafka?: KafkaUser }>;
export type Component = keyof typeof components;

/**
 * The secrets each application process is given, and nothing else (`prism up` natively, the services'
 * environment under Compose). The task worker holds no backup secret: the maintenance worker takes the
 * backups (the backup identities, the S3 keys of the backup destination), scans the sensor rules and escalates
 * alerts.
 */
export const componentSecrets = {
  worker: [
    'POSTGRES_APP_PASSWORD',
    'REDIS_WORKER_PASSWORD',
    'REDIS_SENTINEL_PASSWORD',
    'KAFKA_WORKER_PASSWORD',
    'INFLUX_PASSWORD',
    'WEAVIATE_API_KEY',
  ],
  maintenance: [
    'POSTGRES_APP_PASSWORD',
    'POSTGRES_BACKUP_PASSWORD',
    'REDIS_WORKER_PASSWORD',
    'REDIS_SENTINEL_PASSWORD',
    'REDIS_BACKUP_PASSWORD',
    'KAFKA_WORKER_PASSWORD',
    'INFLUX_PASSWORD',
    'S3_ACCESS_KEY',
    'S3_SECRET_KEY',
    'WEAVIATE_API_KEY',
  ],
  api: [
    'POSTGRES_APP_PASSWORD',
    'REDIS_API_PASSWORD',
    'REDIS_SENTINEL_PASSWORD',
    'KAFKA_API_PASSWORD',
    'INFLUX_PASSWORD',
    'ALERTMANAGER_WEBHOOK_TOKEN',
    'WEAVIATE_API_KEY',
  ],
  agent: [
    'POSTGRES_AGENT_PASSWORD',
    'REDIS_AGENT_PASSWORD',
    'REDIS_SENTINEL_PASSWORD',
    'KAFKA_AGENT_PASSWORD',
    'INFLUX_PASSWORD',
    'WEAVIATE_API_KEY',
  ],
} as const satisfies Record<string, readonly (keyof Env)[]>;

/** Variables that hold secrets: never passed to a process that was not given them by name. */
export function isSecretVariable(name: string): boolean {
  return /PASSWORD|TOKEN|SECRET|ACCESS_KEY|API_KEY/.test(name);
}

export interface Logins {
  POSTGRES_LOGIN_USER: string;
  POSTGRES_LOGIN_PASSWORD: string;
  REDIS_LOGIN_USER: string;
  REDIS_LOGIN_PASSWORD: string;
  /** Unset: the brokers take clients without authentication (a cluster other than the stack's). */
  KAFKA_LOGIN_USER?: string;
  KAFKA_LOGIN_PASSWORD?: string;
  KAFKA_LOGIN_MECHANISM?: KafkaMechanism;
}

type Secrets = Partial<Record<string, string>> &
  Pick<Env, 'POSTGRES_USER'> & { KAFKA_LOGIN_MECHANISM?: KafkaMechanism };

/**
 * The logins of a component, from the passwords in the configuration; `missing` names the variables a
 * product component (not an operator's command) needs and does not have. POSTGRES_LOGIN_* / REDIS_LOGIN_* / KAFKA_LOGIN_*, when set, win (a
 * deployment whose roles have other names).
 */
export function resolveLogins(
  env: Secrets,
  component: Component,
): { logins: Logins; missing: { field: string; message: string }[] } {
  const wanted: { postgres?: PostgresRole; redis?: RedisUser; kafka?: KafkaUser } = components[component];
  const missing: { field: string; message: string }[] = [];
  // A product process without its password stops at once, naming it; an operator's command (which may not
  // touch that store at all) meets the server's refusal only if it does.
  const strict = component !== 'operator' && component !== 'admin';
  const need = (variable: string, who: string) => {
    const value = env[variable];
    if (!value && strict)
      missing.push({
        field: variable,
        message: `required but not set (${component} logs in as ${who}; \`prism stack up\` generates it)`,
      });
    return value ?? '';
  };
  const pgRole = wanted.postgres;
  const pgUser = env.POSTGRES_LOGIN_USER ?? (pgRole ? postgresRoleName(env, pgRole) : '');
  const pgPassword =
    env.POSTGRES_LOGIN_PASSWORD ??
    (pgRole ? need(postgresPasswordVariable(pgRole), `PostgreSQL role ${pgUser}`) : '');
  const redisUser = env.REDIS_LOGIN_USER ?? wanted.redis ?? '';
  const redisPassword =
    env.REDIS_LOGIN_PASSWORD ??
    (wanted.redis ? need(redisPasswordVariable(wanted.redis), `Redis user ${redisUser}`) : '');
  // Kafka authenticates only where the stack generated its users' passwords.
  const kafkaUser = env.KAFKA_LOGIN_USER ?? wanted.kafka;
  const kafkaPassword =
    env.KAFKA_LOGIN_PASSWORD ?? (wanted.kafka ? env[kafkaPasswordVariable(wanted.kafka)] : undefined);
  return {
    logins: {
      POSTGRES_LOGIN_USER: pgUser,
      POSTGRES_LOGIN_PASSWORD: pgPassword,
      REDIS_LOGIN_USER: redisUser,
      REDIS_LOGIN_PASSWORD: redisPassword,
      ...(kafkaUser && kafkaPassword
        ? {
            KAFKA_LOGIN_USER: kafkaUser,
            KAFKA_LOGIN_PASSWORD: kafkaPassword,
            KAFKA_LOGIN_MECHANISM: env.KAFKA_LOGIN_MECHANISM ?? kafkaMechanism(kafkaUser),
          }
        : {}),
    },
    missing,
  };
}

function held(env: Env, variable: keyof Env, what: string): string {
  const value = env[variable];
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${String(variable)} is not set: this process does not hold the password of ${what}`);
  }
  return value;
}

/** This configuration, logging in to PostgreSQL as `role` (with the password this process holds for it). */
export function asPostgresRole<E extends Env>(env: E, role: PostgresRole): E {
  const user = postgresRoleName(env, role);
  return {
    ...env,
    POSTGRES_LOGIN_USER: user,
    POSTGRES_LOGIN_PASSWORD: held(env, postgresPasswordVariable(role), `PostgreSQL role ${user}`),
  };
}

/** This configuration, logging in to Redis as `user`. */
export function asRedisUser<E extends Env>(env: E, user: RedisUser): E {
  return {
    ...env,
    REDIS_LOGIN_USER: user,
    REDIS_LOGIN_PASSWORD: held(env, redisPasswordVariable(user), `Redis user ${user}`),
  };
}

/** This configuration, logging in to Kafka as `user` (without authentication where it has no password). */
export function asKafkaUser<E extends Env>(env: E, user: KafkaUser): E {
  const password = env[kafkaPasswordVariable(user)] as string | undefined;
  const { KAFKA_LOGIN_USER: _u, KAFKA_LOGIN_PASSWORD: _p, KAFKA_LOGIN_MECHANISM: _m, ...rest } = env;
  return (
    password
      ? {
          ...rest,
          KAFKA_LOGIN_USER: user,
          KAFKA_LOGIN_PASSWORD: password,
          KAFKA_LOGIN_MECHANISM: kafkaMechanism(user),
        }
      : rest
  ) as E;
}

/** This configuration as another component would log in (the tests run each component as itself). */
export function asComponent<E extends Env>(env: E, component: Component): E {
  const wanted: { postgres?: PostgresRole; redis?: RedisUser; kafka?: KafkaUser } = components[component];
  let next: E = { ...env, PRISM_COMPONENT: component };
  if (wanted.postgres) next = asPostgresRole(next, wanted.postgres);
  if (wanted.redis) next = asRedisUser(next, wanted.redis);
  if (wanted.kafka) next = asKafkaUser(next, wanted.kafka);
  return next;
}

/**
 * Backups and restores log in as the backup identities (src/backup/): PostgreSQL's prism_backup and Redis'
 * `backup`, whatever the process otherwise runs as (the maintenance worker takes the scheduled backups).
 */
export function asBackup<E extends Env>(env: E): E {
  return asRedisUser(asPostgresRole(env, 'backup'), 'backup');
}
