// Kafka's users and what each may do. The broker authenticates every client (SASL): the stack's `admin`
// with PLAIN, its password in the broker's own configuration (so the broker, its controller and the operator
// can log in from the broker's first second, before any metadata exists); the components (`worker`, `api`,
// `agent`) with SCRAM-SHA-512, whose salted hashes the cluster stores in its metadata. The standard authorizer
// then lets `admin` do anything (a super user) and every other user only what an ACL below allows: nothing is
// allowed where no ACL says so (src/stores/kafka/acl.ts). docs/security.md has the table in English.
//
// Users: natively, `kafka-storage format --add-scram` creates them with the cluster, and `ensureKafkaUsers`
// (re)sets any whose password does not log in (a cluster formatted before there were users, a rotated password);
// under Compose the one-shot `kafka-users` does the same with kafka-configs.sh. ACLs: `prism provision`
// grants them for its deployment's topics and groups (KAFKA_TOPIC_PREFIX), in both stacks.
import { join } from 'node:path';
import { createKafka, logLevel } from '../clients/kafka.ts';
import type { Env } from '../config.ts';
import { asKafkaUser, kafkaPasswordVariable, kafkaUsers, type KafkaUser } from '../identity.ts';
import { repoRoot } from './paths.ts';
import { run } from './process.ts';

/** The SCRAM mechanism of the component users, as Kafka names it. */
export const scramMechanism = 'SCRAM-SHA-512';
/** The users that log in with SCRAM (admin logs in with PLAIN). */
export type ScramUser = Exclude<KafkaUser, 'admin'>;
export const scramUsers = kafkaUsers.filter((u): u is ScramUser => u !== 'admin');

/** A JAAS string value: Kafka's parser takes a double-quoted string with \" and \\ escaped. */
function jaasQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The PLAIN login module of a listener: the admin's own login (to the controller) and the one user it accepts. */
export function plainJaasConfig(adminPassword: string): string {
  const pw = jaasQuote(adminPassword);
  return `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password=${pw} user_admin=${pw};`;
}

function adminPassword(env: Env): string {
  const password = env.KAFKA_ADMIN_PASSWORD;
  if (!password)
    throw new Error('KAFKA_ADMIN_PASSWORD is not set: the Kafka broker needs its admin password');
  return password;
}

/**
 * The security part of a broker's server.properties: every listener SASL, PLAIN for the admin (the controller
 * listener and the broker to itself), SCRAM-SHA-512 for the components, ACLs enforced. `tls`: a further
 * client listener that speaks SASL over TLS (SASL_SSL), with its key and certificate chain in one PEM file.
 */
export function kafkaSecurityProperties(
  env: Env,
  listeners: { broker: string; controller: string; tls?: { listener: string; keystore: string } },
): string[] {
  const jaas = plainJaasConfig(adminPassword(env));
  const c = listeners.controller.toLowerCase();
  const clientListeners = [listeners.broker, ...(listeners.tls ? [listeners.tls.listener] : [])];
  const protocols = [
    `${listeners.controller}:SASL_PLAINTEXT`,
    `${listeners.broker}:SASL_PLAINTEXT`,
    ...(listeners.tls ? [`${listeners.tls.listener}:SASL_SSL`] : []),
  ];
  return [
    `listener.security.protocol.map=${protocols.join(',')}`,
    `sasl.enabled.mechanisms=PLAIN,${scramMechanism}`,
    'sasl.mechanism.controller.protocol=PLAIN',
    'sasl.mechanism.inter.broker.protocol=PLAIN',
    `listener.name.${c}.sasl.enabled.mechanisms=PLAIN`,
    `listener.name.${c}.plain.sasl.jaas.config=${jaas}`,
    ...clientListeners.flatMap((listener) => {
      const b = listener.toLowerCase();
      return [
        `listener.name.${b}.plain.sasl.jaas.config=${jaas}`,
        `listener.name.${b}.${scramMechanism.toLowerCase()}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      ];
    }),
    ...(listeners.tls
      ? [
          `listener.name.${listeners.tls.listener.toLowerCase()}.ssl.keystore.type=PEM`,
          `listener.name.${listeners.tls.listener.toLowerCase()}.ssl.keystore.location=${listeners.tls.keystore}`,
          `listener.name.${listeners.tls.listener.toLowerCase()}.ssl.enabled.protocols=TLSv1.2,TLSv1.3`,
        ]
      : []),
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:admin',
    'allow.everyone.if.no.acl.found=false',
  ];
}

/** `kafka-storage format` arguments that create the component users with a new cluster. */
export function formatScramArguments(env: Env): string[] {
  return scramUsers.flatMap((user) => {
    const password = env[kafkaPasswordVariable(user)] as string | undefined;
    return password ? ['--add-scram', `${scramMechanism}=[name=${user},password=${password}]`] : [];
  });
}

async function logsIn(env: Env, user: KafkaUser): Promise<boolean> {
  const admin = createKafka(asKafkaUser(env, user), {
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The script that sets the component users' passwords, in both stacks (stack/kafka/users.sh). */
export const kafkaUsersScript = join(repoRoot, 'stack', 'kafka', 'users.sh');

/**
 * Makes every component user's password log in: when one does not, stack/kafka/users.sh (re)sets them all
 * with Kafka's own ConfigCommand, as admin — the script the Compose one-shot `kafka-users` runs. Returns the
 * users that did not log in. Idempotent; costs nothing when every user logs in.
 */
export async function ensureKafkaUsers(env: Env, kafkaLib: string): Promise<ScramUser[]> {
  const failing = await usersNotLoggingIn(env);
  if (failing.length === 0) return [];
  await run('sh', [kafkaUsersScript, env.KAFKA_BROKERS], {
    env: {
      PATH: process.env.PATH,
      KAFKA_CLASSPATH: `${kafkaLib}/*`,
      ADMIN_PASSWORD: adminPassword(env),
      ...Object.fromEntries(
        scramUsers.map((u) => [kafkaPasswordVariable(u), env[kafkaPasswordVariable(u)] ?? '']),
      ),
    },
  });
  const still = await usersNotLoggingIn(env);
  if (still.length > 0)
    throw new Error(`Kafka users ${still.join(', ')} still do not log in after ${kafkaUsersScript}`);
  return failing;
}

/** The component users that have a password and do not log in with it. */
async function usersNotLoggingIn(env: Env): Promise<ScramUser[]> {
  const failing: ScramUser[] = [];
  for (const user of scramUsers) {
    if (env[kafkaPasswordVariable(user)] && !(await logsIn(env, user))) failing.push(user);
  }
  return failing;
}

/** Whether every component user with a password logs in (the running broker is up to date). */
export async function kafkaUsersCurrent(env: Env): Promise<boolean> {
  return (await usersNotLoggingIn(env)).length === 0;
}
