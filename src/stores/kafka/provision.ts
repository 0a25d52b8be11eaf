// Brings the broker's topics in line with the spec: creates what is missing, grows partitions, aligns
// topic configs. Never deletes a topic or reduces partitions (Kafka cannot), so it is safe to run on
// every deploy; a second run reports everything unchanged.
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { createKafka, kafkaName, type KafkaEnv } from '../../clients/kafka.ts';
import type { Progress } from '../../progress.ts';
import { grantKafkaAcls } from './acl.ts';
import { allTopicSpecs, type TopicSpec } from './topics.ts';

const { ConfigResourceTypes, ConfigSource } = kafkajs;

export interface ProvisionOptions {
  /** Provision these topics instead of the 36 topics and dead-letter topics of `allTopicSpecs`. */
  topics?: readonly TopicSpec[];
  /** Prepended to every topic name, so tests can provision their own copies and delete them after. */
  prefix?: string;
  /** The client to use; by default one is made from `env`. */
  kafka?: Kafka;
}

export interface ProvisionResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** ACLs granted to the components for these topics (where the broker authorizes: a logged-in client). */
  acls?: number;
  /**
   * Topics that exist with fewer replicas than KAFKA_REPLICATION_FACTOR (made on a smaller cluster): Kafka does
   * not add replicas by itself, and provisioning does not move data; docs/scaling.md says how to reassign them.
   * Present only when there are such topics.
   */
  underReplicated?: UnderReplicatedTopic[];
}

export interface UnderReplicatedTopic {
  topic: string;
  /** The fewest replicas of any of its partitions. */
  replicationFactor: number;
  wanted: number;
}

/** How many copies of each topic, and how many must have a write before acks=all acknowledges it. */
export interface Replication {
  factor: number;
  minInsync: number;
}

/** The replication KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS ask for (default 1 and 1). */
export function replicationOf(env: KafkaEnv): Replication {
  const factor = env.KAFKA_REPLICATION_FACTOR ?? 1;
  const minInsync = env.KAFKA_MIN_INSYNC_REPLICAS ?? 1;
  if (minInsync > factor) {
    throw new Error(
      `KAFKA_MIN_INSYNC_REPLICAS (${minInsync}) is more than KAFKA_REPLICATION_FACTOR (${factor}): ` +
        'no write could ever be acknowledged. Lower KAFKA_MIN_INSYNC_REPLICAS or raise the factor.',
    );
  }
  return { factor, minInsync };
}

/**
 * The topic-level overrides a topic is provisioned with: its spec's, and min.insync.replicas where more than
 * the broker's default of one copy must have a write. A topic with fewer replicas than wanted keeps its own
 * (min.insync.replicas above its replica count would refuse every write).
 */
export function wantedTopicConfig(
  spec: Pick<TopicSpec, 'config'>,
  replication: Replication,
  replicas = replication.factor,
): Record<string, string> {
  return replication.minInsync > 1 && replicas >= replication.factor
    ? { ...spec.config, 'min.insync.replicas': String(replication.minInsync) }
    : { ...spec.config };
}

/** What provisioning says of a topic with fewer replicas than wanted: the numbers and what to do. */
export function underReplicatedMessage(t: UnderReplicatedTopic, minInsync = 1): string {
  const copies = `${t.replicationFactor} ${t.replicationFactor === 1 ? 'replica' : 'replicas'}`;
  return (
    `${t.topic} has ${copies} per partition, KAFKA_REPLICATION_FACTOR asks for ${t.wanted}: Kafka does not ` +
    'add replicas to an existing topic, so it stays as it is until its partitions are reassigned ' +
    '(kafka-reassign-partitions, docs/scaling.md)' +
    (t.replicationFactor < minInsync
      ? `; meanwhile, with fewer replicas than min.insync.replicas (${minInsync}), it refuses every ` +
        'acks=all write (NOT_ENOUGH_REPLICAS)'
      : '')
  );
}

export async function provisionKafka(
  env: KafkaEnv,
  progress: Progress,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const kafka = options.kafka ?? createKafka(env);
  const prefix = options.prefix ?? '';
  const wanted = (options.topics ?? allTopicSpecs).map((spec) => ({
    ...spec,
    name: kafkaName(kafka, prefix + spec.name),
  }));
  const replication = replicationOf(env);
  const admin = kafka.admin();
  return progress.track(`Provisioning ${wanted.length} Kafka topics`, async () => {
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      let missing = wanted.filter((spec) => !existing.has(spec.name));
      let present = wanted.filter((spec) => existing.has(spec.name));
      if (missing.length > 0) await checkBrokers(admin, replication);
      if (!(await createTopics(admin, missing, replication, progress))) {
        // Some of them exist after all: made meanwhile by another provisioner, or listed by a broker that had
        // not applied them yet. Kafka's answer does not say which, so every one is checked as an existing
        // topic below (replicas, partitions, configs) rather than trusted to be as it was asked for.
        progress.step(
          `${missing.map((s) => s.name).join(', ')}: some already existed; checking them as existing topics`,
        );
        [present, missing] = [wanted, []];
      }
      const replicas = await replicaCounts(admin, present);
      const underReplicated = present
        .map((s) => ({
          topic: s.name,
          replicationFactor: replicas.get(s.name) ?? 0,
          wanted: replication.factor,
        }))
        .filter((t) => t.replicationFactor < t.wanted);
      for (const t of underReplicated) progress.step(underReplicatedMessage(t, replication.minInsync));
      const grown = await growPartitions(admin, present, progress);
      const aligned = await alignConfigs(
        admin,
        present.map((s) => ({ ...s, config: wantedTopicConfig(s, replication, replicas.get(s.name)) })),
        progress,
      );
      const updated = present.filter((s) => grown.has(s.name) || aligned.has(s.name)).map((s) => s.name);
      // The deployment's topics get their ACLs: what the worker, the API and the agents may do with them.
      // A cluster the client does not log in to is one without authorization (not the stack's).
      const acls =
        options.topics === undefined && env.KAFKA_LOGIN_USER
          ? await grantKafkaAcls(admin, kafkaName(kafka, prefix))
          : undefined;
      if (acls !== undefined) progress.step(`granted ${acls} ACLs to the worker, the API and the agents`);
      return {
        created: missing.map((s) => s.name),
        updated,
        unchanged: present.map((s) => s.name).filter((name) => !updated.includes(name)),
        ...(acls !== undefined ? { acls } : {}),
        ...(underReplicated.length > 0 ? { underReplicated } : {}),
      };
    } finally {
      await admin.disconnect();
    }
  });
}

/** A replication factor the cluster cannot place fails every topic: say so with the numbers first. */
async function checkBrokers(admin: Admin, replication: Replication): Promise<void> {
  const { brokers } = await admin.describeCluster();
  if (brokers.length < replication.factor) {
    throw new Error(
      `KAFKA_REPLICATION_FACTOR is ${replication.factor}, but the cluster has ${brokers.length} ` +
        `${brokers.length === 1 ? 'broker' : 'brokers'} (${brokers.map((b) => `${b.host}:${b.port}`).join(', ')}): ` +
        'start the missing brokers, or lower KAFKA_REPLICATION_FACTOR (and KAFKA_MIN_INSYNC_REPLICAS) to fit.',
    );
  }
}

async function createTopics(
  admin: Admin,
  specs: TopicSpec[],
  replication: Replication,
  progress: Progress,
): Promise<boolean> {
  if (specs.length === 0) return true;
  // false: at least one of them already existed (kafkajs's TOPIC_ALREADY_EXISTS), the others were made.
  const allNew = await admin.createTopics({
    // kafkajs's own wait gives up on the "unknown topic" a KRaft broker answers until it has applied the
    // new topic's metadata; waitForTopicLeaders tolerates that.
    waitForLeaders: false,
    topics: specs.map((spec) => ({
      topic: spec.name,
      numPartitions: spec.partitions,
      replicationFactor: replication.factor,
      configEntries: Object.entries(wantedTopicConfig(spec, replication)).map(([name, value]) => ({
        name,
        value,
      })),
    })),
  });
  await waitForTopicLeaders(admin, specs);
  if (!allNew) return false;
  const copies = replication.factor > 1 ? `, ${replication.factor} replicas` : '';
  for (const spec of specs) progress.step(`created ${spec.name} (${spec.partitions} partitions${copies})`);
  return true;
}

/** The fewest replicas of any partition of each topic. */
async function replicaCounts(admin: Admin, specs: TopicSpec[]): Promise<Map<string, number>> {
  if (specs.length === 0) return new Map();
  const topics = await topicMetadata(
    admin,
    specs.map((s) => s.name),
  );
  return new Map(topics.map((t) => [t.name, Math.min(...t.partitions.map((p) => p.replicas.length))]));
}

/** The protocol error type of a kafkajs error, looking through its retry wrappers. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.type) return e.type;
  }
  return undefined;
}

/**
 * Waits until the broker serves every partition of these new (or grown) topics, so that what runs next
 * (a producer, alterConfigs) does not meet "This server does not host this topic-partition".
 */
export async function waitForTopicLeaders(
  admin: Admin,
  topics: readonly Pick<TopicSpec, 'name' | 'partitions'>[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError = 'partitions without a leader';
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
      const ready = topics.every((topic) => {
        const partitions = found.find((t) => t.name === topic.name)?.partitions ?? [];
        return partitions.length >= topic.partitions && partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
    } catch (error) {
      const type = kafkaErrorType(error);
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw error;
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka did not serve topics ${topics.map((t) => t.name).join(', ')} within ${timeoutMs} ms ` +
          `(${lastError}). Check the broker log and that the broker is healthy (prism stack status).`,
      );
    }
    await sleep(100);
  }
}

/**
 * The metadata of topics that exist, asked again while the broker that answers has not caught up with them
 * yet: on a cluster, a topic another broker created a moment ago can be listed everywhere and still be
 * "This server does not host this topic-partition" to a metadata request for it, for a few hundred ms.
 * An answer that leaves a topic out, or gives it no partitions, is asked again too: counted as it stands,
 * it would pass for a topic with no replicas to check (and Math.min() of none is Infinity).
 */
async function topicMetadata(admin: Admin, names: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lagging: string;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      const incomplete = names.filter(
        (name) => !topics.some((t) => t.name === name && t.partitions.length > 0),
      );
      if (incomplete.length === 0) return topics;
      lagging = `no partitions of ${incomplete.join(', ')} in the broker's answer`;
    } catch (error) {
      const type = kafkaErrorType(error);
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw error;
      lagging = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka did not describe topics ${names.join(', ')} within ${timeoutMs} ms (${lagging}). ` +
          'Check the broker log and that every broker is healthy (prism stack status).',
      );
    }
    await sleep(200);
  }
}

async function growPartitions(admin: Admin, specs: TopicSpec[], progress: Progress): Promise<Set<string>> {
  if (specs.length === 0) return new Set();
  const topics = await topicMetadata(
    admin,
    specs.map((s) => s.name),
  );
  const counts = new Map(topics.map((t) => [t.name, t.partitions.length]));
  const toGrow = specs.filter((spec) => (counts.get(spec.name) ?? 0) < spec.partitions);
  for (const spec of specs) {
    const count = counts.get(spec.name) ?? 0;
    if (count > spec.partitions) {
      progress.step(
        `${spec.name} has ${count} partitions, more than the ${spec.partitions} specified; ` +
          'Kafka cannot remove partitions, so it is left as it is',
      );
    }
  }
  if (toGrow.length > 0) {
    await admin.createPartitions({
      topicPartitions: toGrow.map((spec) => ({ topic: spec.name, count: spec.partitions })),
    });
    await waitForTopicLeaders(admin, toGrow);
  }
  for (const spec of toGrow) {
    progress.step(`grew ${spec.name} from ${counts.get(spec.name)} to ${spec.partitions} partitions`);
  }
  return new Set(toGrow.map((s) => s.name));
}

async function alignConfigs(admin: Admin, specs: TopicSpec[], progress: Progress): Promise<Set<string>> {
  if (specs.length === 0) return new Set();
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((spec) => ({ type: ConfigResourceTypes.TOPIC, name: spec.name })),
  });
  const overridesByTopic = new Map(
    described.resources.map((resource) => [
      resource.resourceName,
      // Only the topic's own overrides: values inherited from the broker are not the topic's to keep.
      new Map(
        resource.configEntries
          .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
          .map((entry) => [entry.configName, entry.configValue]),
      ),
    ]),
  );
  const resources = [];
  for (const spec of specs) {
    const overrides = overridesByTopic.get(spec.name) ?? new Map<string, string>();
    const differing = Object.entries(spec.config).filter(([name, value]) => overrides.get(name) !== value);
    if (differing.length === 0) continue;
    progress.step(
      `aligning ${spec.name}: ${differing.map(([name, value]) => `${name}=${value} (was ${overrides.get(name) ?? 'broker default'})`).join(', ')}`,
    );
    // kafkajs has only the legacy AlterConfigs, which replaces all of a topic's overrides: send the
    // overrides someone else set too, so aligning ours does not silently drop theirs.
    const merged = { ...Object.fromEntries(overrides), ...spec.config };
    resources.push({
      type: ConfigResourceTypes.TOPIC,
      name: spec.name,
      configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
    });
  }
  if (resources.length > 0) await admin.alterConfigs({ validateOnly: false, resources });
  return new Set(resources.map((r) => r.name));
}
