// Kafka's least privilege, on the real broker: every client logs in, each component as its own user, and the
// ACLs that `prism provision` grants let each do its job and nothing else — the API cannot read the agents'
// commands, an agent cannot inject user queries, a wrong password or no login gets nowhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs, { type Kafka } from 'kafkajs';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createKafka, kafkaName, logLevel } from '../../../src/clients/kafka.ts';
import { asKafkaUser, type KafkaUser } from '../../../src/identity.ts';
import { silentProgress } from '../../../src/progress.ts';
import { kafkaAcls } from '../../../src/stores/kafka/acl.ts';
import { kafkaErrorType, provisionKafka } from '../../../src/stores/kafka/provision.ts';
import { CommandsTopic, Topic } from '../../../src/stores/kafka/topics.ts';
import { binaries } from '../../../src/stack/install.ts';
import { kafkaUsersScript, scramUsers } from '../../../src/stack/kafka-users.ts';
import { stackPaths } from '../../../src/stack/paths.ts';
import { kafkaPasswordVariable } from '../../../src/identity.ts';
import { env, testId } from '../../helpers.ts';
import { deleteTestTopics } from './support.ts';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const prefix = `${testId('kacl')}.`;
const deployment = { ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${prefix}` };
const quiet = { retry: { retries: 0 }, logLevel: logLevel.NOTHING };
const as = (user: KafkaUser): Kafka => createKafka(asKafkaUser(deployment, user), quiet);

/** The protocol error type of a kafkajs error, or its message. */
function errorType(error: unknown): string {
  return kafkaErrorType(error) ?? (error as Error).message;
}

async function send(kafka: Kafka, topic: string): Promise<string> {
  const producer = kafka.producer({ retry: { retries: 0 } });
  try {
    await producer.connect();
    await producer.send({
      topic: kafkaName(kafka, topic),
      messages: [{ value: JSON.stringify({ id: randomUUID() }) }],
    });
    return 'sent';
  } catch (error) {
    return errorType(error);
  } finally {
    await producer.disconnect();
  }
}

/** Reads one message of `topic` as group `group` (both deployment names); or the error that stopped it. */
async function readOne(kafka: Kafka, topic: string, group: string): Promise<string> {
  const consumer = kafka.consumer({
    groupId: kafkaName(kafka, group),
    maxWaitTimeInMs: 100,
    retry: { retries: 0 },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [kafkaName(kafka, topic)], fromBeginning: true });
    return await new Promise<string>((resolve) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorType(payload.error)));
      consumer
        .run({
          eachMessage: async ({ message }) => resolve(`read ${message.value?.toString().length} bytes`),
        })
        .catch((error: unknown) => resolve(errorType(error)));
    });
  } catch (error) {
    return errorType(error);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

describe('Kafka users and ACLs', () => {
  const admin = createKafka(env).admin();

  beforeAll(async () => {
    await admin.connect();
    const result = await provisionKafka(deployment, silentProgress);
    expect(result.acls).toBe(kafkaAcls(deployment.KAFKA_TOPIC_PREFIX).length);
  });
  afterAll(async () => {
    await deleteTestTopics(admin, prefix);
    await admin.disconnect();
  });

  it('stores the ACLs provisioning granted, for this deployment’s names only', async () => {
    const { resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    const ours = resources.filter((r) => r.resourceName.startsWith(deployment.KAFKA_TOPIC_PREFIX));
    const read = (principal: string, name: string) =>
      ours.some(
        (r) =>
          r.resourceName === deployment.KAFKA_TOPIC_PREFIX + name &&
          r.acls.some((a) => a.principal === principal && a.operation === AclOperationTypes.READ),
      );
    expect(read('User:agent', Topic.OrchestrationCommands)).toBe(true);
    expect(read('User:agent', CommandsTopic.PREDICTION)).toBe(true);
    expect(read('User:worker', Topic.OrchestrationResponses)).toBe(true);
    expect(read('User:api', Topic.OrchestrationCommands)).toBe(false);
    expect(ours.reduce((n, r) => n + r.acls.length, 0)).toBe(kafkaAcls(deployment.KAFKA_TOPIC_PREFIX).length);
  });

  it('lets the worker send commands and an agent read them and answer', async () => {
    expect(await send(as('worker'), Topic.OrchestrationCommands)).toBe('sent');
    expect(await readOne(as('agent'), Topic.OrchestrationCommands, 'prism-agents-analysis')).toMatch(
      /^read /,
    );
    expect(await send(as('agent'), Topic.OrchestrationResponses)).toBe('sent');
    expect(await readOne(as('worker'), Topic.OrchestrationResponses, 'prism-bridge')).toMatch(/^read /);
    // And a type's own commands topic the same way.
    expect(await send(as('worker'), CommandsTopic.ANALYSIS)).toBe('sent');
    expect(await readOne(as('agent'), CommandsTopic.ANALYSIS, 'prism-agents-analysis')).toMatch(/^read /);
  });

  it('does not let the API read the agents’ commands, in the agents’ group or a group of its own', async () => {
    expect(await send(as('worker'), Topic.OrchestrationCommands)).toBe('sent');
    expect(await readOne(as('api'), Topic.OrchestrationCommands, 'prism-agents-analysis')).toBe(
      'GROUP_AUTHORIZATION_FAILED',
    );
    expect(await readOne(as('api'), Topic.OrchestrationCommands, 'prism-api-snoop')).toBe(
      'GROUP_AUTHORIZATION_FAILED',
    );
    // Nor send a command in the orchestrator's name, on the shared topic or a type's own.
    expect(await send(as('api'), Topic.OrchestrationCommands)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await send(as('api'), CommandsTopic.CONTROL)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('lets each component write only its own topics', async () => {
    expect(await send(as('api'), Topic.UserQueries)).toBe('sent');
    expect(await send(as('agent'), Topic.UserQueries)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await send(as('agent'), Topic.KnowledgeUpdates)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await send(as('worker'), Topic.UserFeedback)).toBe('TOPIC_AUTHORIZATION_FAILED');
    // An agent may not read the worker's groups (another's offsets), even on a topic it may write: without
    // even Describe on the group, the broker will not say who coordinates it.
    expect(await readOne(as('agent'), Topic.OrchestrationResponses, 'prism-bridge')).toMatch(
      /AUTHORIZATION_FAILED|Failed to find group coordinator/,
    );
  });

  it('grants nothing for another deployment’s topics', async () => {
    // The running system's (unprefixed) names are not this deployment's: the component users' ACLs there
    // come from that deployment's own provisioning, not from this one.
    const other = createKafka(
      asKafkaUser({ ...env, KAFKA_TOPIC_PREFIX: `${env.KAFKA_TOPIC_PREFIX}${testId('kother')}.` }, 'worker'),
      quiet,
    );
    expect(await send(other, Topic.OrchestrationCommands)).toMatch(/AUTHORIZATION_FAILED|UNKNOWN_TOPIC/);
  });

  it('refuses a wrong password and a client that does not log in', async () => {
    const wrong = createKafka(
      {
        ...deployment,
        KAFKA_LOGIN_USER: 'agent',
        KAFKA_LOGIN_PASSWORD: 'not-the-password',
        KAFKA_LOGIN_MECHANISM: 'scram-sha-512',
      },
      quiet,
    );
    expect(await send(wrong, Topic.OrchestrationResponses)).toMatch(/authentication failed/i);
    const anonymous = createKafka(
      {
        ...deployment,
        KAFKA_LOGIN_USER: undefined,
        KAFKA_LOGIN_PASSWORD: undefined,
        KAFKA_LOGIN_MECHANISM: undefined,
      },
      quiet,
    );
    const admin = anonymous.admin();
    try {
      // The listener speaks SASL only: a client that does not log in is disconnected.
      await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow(/closed connection/i);
    } finally {
      await admin.disconnect();
    }
  });

  it("sets the components' passwords with stack/kafka/users.sh, Compose's kafka-users, on the real broker", async () => {
    const run = promisify(execFile);
    const passwords = Object.fromEntries(
      scramUsers.map((u) => [kafkaPasswordVariable(u), String(env[kafkaPasswordVariable(u)])]),
    );
    const scriptEnv = {
      PATH: process.env.PATH,
      KAFKA_CLASSPATH: `${binaries(stackPaths(env)).kafkaLib}/*`,
      ADMIN_PASSWORD: String(env.KAFKA_ADMIN_PASSWORD),
    };
    // Each user's password set again (as on every Compose start): every one still logs in and is authorized.
    const { stdout } = await run('sh', [kafkaUsersScript, env.KAFKA_BROKERS], {
      env: { ...scriptEnv, ...passwords },
    });
    for (const user of scramUsers) expect(stdout).toContain(`Completed updating config for user ${user}`);
    expect(await send(as('agent'), Topic.OrchestrationResponses)).toBe('sent');
    // A password that is not set stops it, naming the user, before anything is changed.
    const missing = await run('sh', [kafkaUsersScript, env.KAFKA_BROKERS], {
      env: { ...scriptEnv, ...passwords, KAFKA_WORKER_PASSWORD: '' },
    }).then(
      () => 'exit 0',
      (err: { stderr: string }) => err.stderr,
    );
    expect(missing).toMatch(/password of Kafka user worker is not set/);
  }, 60_000);
});
