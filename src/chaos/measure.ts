// What a fault did, read from the stores themselves rather than from what the load's clients saw: the
// tasks and their history in PostgreSQL, the commands, answers and task events on Kafka, the task metrics
// in InfluxDB.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { kafkaName } from '../clients/kafka.ts';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import { influxQL } from '../stores/influx/server.ts';
import { taskRowCounts } from '../stores/postgres/tasks.ts';
import { parseEnvelope, type Envelope } from '../stores/kafka/envelope.ts';
import { CommandsTopic, Topic } from '../stores/kafka/topics.ts';

// Commands go on their type's own topic or the shared one (docs/kafka.md): all of them count as commands.
const commandTopics: string[] = [Topic.OrchestrationCommands, ...Object.values(CommandsTopic)];

/** The topics whose messages are counted: one command and one answer per step, one end per task. */
export const countedTopics = [...commandTopics, Topic.OrchestrationResponses, Topic.SystemLogs];

export type TopicOffsets = Record<string, { partition: number; offset: string }[]>;

/** The end of each counted topic now: what a fault's messages are read from, and up to. */
export async function topicOffsets(kafka: Kafka): Promise<TopicOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: TopicOffsets = {};
    for (const topic of countedTopics) {
      out[topic] = (await admin.fetchTopicOffsets(kafkaName(kafka, topic))).map((p) => ({
        partition: p.partition,
        offset: p.high,
      }));
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** The envelopes published on `topic` between two positions, read with a throw-away consumer group. */
async function readBetween(
  kafka: Kafka,
  topic: string,
  from: TopicOffsets,
  to: TopicOffsets,
): Promise<Envelope[]> {
  const name = kafkaName(kafka, topic);
  const start = new Map(from[topic]!.map((p) => [p.partition, BigInt(p.offset)]));
  const end = new Map(to[topic]!.map((p) => [p.partition, BigInt(p.offset)]));
  const pending = new Set([...end].filter(([p, e]) => e > (start.get(p) ?? 0n)).map(([p]) => p));
  if (pending.size === 0) return [];
  const groupId = kafkaName(kafka, `prism-chaos-read-${randomUUID()}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({
    groupId,
    topic: name,
    partitions: [...end.keys()].map((partition) => ({
      partition,
      offset: String(start.get(partition) ?? end.get(partition)),
    })),
  });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  const envelopes: Envelope[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [name] });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const last = end.get(partition)!;
        if (BigInt(message.offset) < last) {
          const parsed = parseEnvelope(message.value);
          if (parsed.ok) envelopes.push(parsed.envelope);
        }
        if (BigInt(message.offset) >= last - 1n) {
          pending.delete(partition);
          if (pending.size === 0) done();
        }
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
    if (pending.size > 0) throw new Error(`could not read ${name} to its end within 60 s`);
    return envelopes;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

export interface StoredTask {
  requestId: string;
  taskId: string;
  status: string;
  error: string | null;
  completedAtMs: number | null;
}

export interface StoredEffects {
  /** The tasks of these request ids that PostgreSQL has. */
  tasks: StoredTask[];
  /** Effects that happened more than once, by kind: each counts the extra ones. */
  duplicated: {
    /** A task's rows more than once: history events, user queries, plans, ends, answers recorded. */
    history: number;
    /** Two different commands, answers or task ends on Kafka for one step or task. */
    kafkaEvents: number;
    /** Two task_performance points in InfluxDB for one step of one task. */
    metricPoints: number;
  };
  /** Copies of one message (the same id) on Kafka: at-least-once delivery, which every consumer dedupes. */
  redelivered: number;
  /** Ended tasks with no task_performance point (metrics lost). */
  missingMetrics: number;
}

/** Reads what the tasks of `requestPrefix` left in PostgreSQL, Kafka (between two positions) and InfluxDB. */
export async function storedEffects(
  env: Env,
  deps: { prisma: PrismaClient; kafka: Kafka },
  requestPrefix: string,
  since: { ms: number; offsets: TopicOffsets },
): Promise<StoredEffects> {
  const like = `${requestPrefix}-%`;
  const rows = await taskRowCounts(deps.prisma, like);
  const extra = (n: bigint, allowed: number) => Math.max(0, Number(n) - allowed);
  const history = rows.reduce(
    (sum, r) =>
      sum +
      Number(r.dup_events) +
      extra(r.queries, 1) +
      extra(r.plans, 1) +
      extra(r.ends, 1) +
      extra(r.answers, Number(r.steps)),
    0,
  );
  const taskIds = new Set(rows.map((r) => r.id));

  const to = await topicOffsets(deps.kafka);
  const byKey = new Map<string, Map<string, number>>(); // what → envelope id → copies
  const count = (what: string, id: string) => {
    const ids = byKey.get(what) ?? new Map<string, number>();
    ids.set(id, (ids.get(id) ?? 0) + 1);
    byKey.set(what, ids);
  };
  for (const topic of countedTopics) {
    for (const e of await readBetween(deps.kafka, topic, since.offsets, to)) {
      if (!e.taskId || !taskIds.has(e.taskId)) continue;
      const step = (e.payload as { stepKey?: unknown }).stepKey;
      if (topic === Topic.SystemLogs) {
        if (e.type.startsWith('task.')) count(`end:${e.taskId}`, e.id);
      } else {
        const kind = commandTopics.includes(topic) ? 'command' : 'answer';
        count(`${kind}:${e.taskId}:${String(step)}`, e.id);
      }
    }
  }
  let kafkaEvents = 0;
  let redelivered = 0;
  for (const ids of byKey.values()) {
    kafkaEvents += ids.size - 1;
    for (const copies of ids.values()) redelivered += copies - 1;
  }

  const [database, retention] = env.INFLUX_BUCKET.split('/') as [string, string | undefined];
  const from = `${Math.floor(since.ms - 60_000)}ms`;
  const points = await influxQL(
    env,
    `SELECT "task_id", "duration_ms", "step" FROM ${retention ? `"${database}"."${retention}".` : ''}"task_performance" WHERE time >= ${from}`,
    database,
  );
  const perStep = new Map<string, number>();
  for (const p of points) {
    if (typeof p.task_id !== 'string' || !taskIds.has(p.task_id)) continue;
    const key = `${p.task_id}:${String(p.step)}`;
    perStep.set(key, (perStep.get(key) ?? 0) + 1);
  }
  const metricPoints = [...perStep.values()].reduce((s, n) => s + n - 1, 0);
  const measured = new Set([...perStep.keys()].map((k) => k.split(':')[0]));
  const missingMetrics = rows.filter((r) => r.completed_at && !measured.has(r.id)).length;

  return {
    tasks: rows.map((r) => ({
      requestId: r.request_id,
      taskId: r.id,
      status: r.status,
      error: r.error_message,
      completedAtMs: r.completed_at?.getTime() ?? null,
    })),
    duplicated: { history, kafkaEvents, metricPoints },
    redelivered,
    missingMetrics,
  };
}
