// The one shape of an agent, whatever carries its commands (Kafka or a Temporal task queue): a handler that
// turns a command into a result, given a context with the agent's identity and its store helpers.
import type { Redis } from 'ioredis';
import type { Collection, WeaviateClient } from 'weaviate-client';
import type { Env } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { AgentCommand, AgentType } from '../task/index.ts';
import type { FluxTarget } from '../stores/influx/queries.ts';
import type { Envelope } from '../stores/kafka/envelope.ts';
import type { AgentStateStore } from '../stores/redis/agent-state.ts';
import type { LockManager } from '../stores/redis/locks.ts';
import type { SharedMemory } from '../stores/redis/shared-memory.ts';
import type { AgentMetrics } from './metrics.ts';
import type { SharedCollectionName } from '../stores/weaviate/collections.ts';
import type { Embedder } from '../stores/weaviate/embedder.ts';
import type { AgentMemory, CollectionShapes } from '../stores/weaviate/schema.ts';
import type { search } from '../stores/weaviate/search.ts';

export type { AgentCommand, AgentResponse, AgentType } from '../task/index.ts';

export interface AgentLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a handler may publish: the envelope fields of its own choosing; the task's ids are filled in. */
export interface AgentMessage {
  /** Derive it from the command (`ctx.idFor('alert')`) so that a retried command re-sends the same message. */
  id: string;
  type: string;
  payload: Record<string, unknown>;
  /** The Kafka partition key; default the task id. Messages with one key are read in order. */
  key?: string;
}

/**
 * What a handler gets besides the command. Every store client is built on first use and shared by all the
 * commands of the agent process, so an agent that never touches Weaviate never connects to it.
 */
export interface AgentContext {
  readonly agentId: string;
  readonly agentType: AgentType;
  readonly env: Env;
  readonly log: AgentLogger;
  readonly prisma: PrismaClient;
  readonly redis: Redis;
  /** Agent state in Redis (the runtime already sets BUSY / IDLE around each command). */
  readonly agentState: AgentStateStore;
  /**
   * Memory the steps of this command's task share (Redis, compare-and-set): every step's answer is there
   * as `step.<key>` once it is given — a step running in parallel can read what a sibling found — and a
   * handler may keep notes of its own. Cleared when the task ends.
   */
  readonly taskMemory: SharedMemory;
  /** Memory shared between agents across tasks, under a namespace of the agents' choosing. */
  sharedMemory(namespace: string): SharedMemory;
  /** Distributed locks with fencing tokens, e.g. `machine.<id>` around acting on a machine. */
  readonly locks: LockManager;
  /** Where InfluxDB queries go: pass it to `recentSensorReadings` and the other helpers of src/stores/influx (docs/influxdb.md). */
  readonly influx: FluxTarget;
  weaviate(): Promise<WeaviateClient>;
  /** A shared Weaviate collection (ExternalKnowledge, ManufacturingKnowledge, InstructionTemplate). */
  collection<N extends SharedCollectionName>(name: N): Promise<Collection<CollectionShapes[N]>>;
  /** This agent's own tenant of AgentMemory. */
  memory(): Promise<Collection<AgentMemory>>;
  /** Keyword, vector or hybrid search over a collection (see src/stores/weaviate/search.ts). */
  search: typeof search;
  /** The GloVe embedder for vector and hybrid search: several seconds and ~1 GB on first use. */
  embedder(): Promise<Embedder>;
  /** A stable UUID for one effect of this command: the same command always gets the same id. */
  idFor(effect: string): string;
  /** Publishes an envelope carrying this command's task, workflow, agent id and type. */
  publish(topic: string, message: AgentMessage): Promise<Envelope>;
}

/** Turns a command into its result. Throw to answer FAILED: the error's message is the reason given. */
export type AgentHandler = (command: AgentCommand, ctx: AgentContext) => Promise<Record<string, unknown>>;

/** An agent as a team writes it (`defineAgent`): its type, handler, and how it describes itself. */
export interface AgentDefinition {
  type: AgentType;
  handler: AgentHandler;
  /** Shown in the `agents` table; default `<TYPE> agent <id>`. */
  name?: string;
  description?: string;
  capabilities?: string[];
  version?: string;
}

/** Options shared by both transports. */
export interface AgentOptions extends AgentDefinition {
  env: Env;
  /** Stable id of this agent instance: 1 to 64 letters, digits, _ or - (it names a Redis key and a Weaviate tenant). */
  agentId: string;
  log?: AgentLogger;
  /** Where the agent counts its commands (served on /metrics by `prism agent run --metrics-port`). */
  metrics?: AgentMetrics;
  /** Time between heartbeats (Redis and PostgreSQL). Default 5000. */
  heartbeatIntervalMs?: number;
  /** Commands handled at once. Default 1: an agent works on one task at a time, as its Redis state says. */
  concurrency?: number;
  /** Redis key prefix of the agent state and the alert queue; tests use `prism:<testId>`. Default `prism`. */
  redisPrefix?: string;
  /** Weaviate collection prefix; tests use their own collections. Default none. */
  weaviatePrefix?: string;
  /** The topic answers are published on. Default `agent.orchestration.responses`. */
  responsesTopic?: string;
}

/** A started agent. */
export interface RunningAgent {
  readonly agentId: string;
  readonly type: AgentType;
  readonly transport: 'KAFKA' | 'TEMPORAL';
  /** Where its commands come from: a topic and consumer group, or a task queue. */
  readonly source: string;
  /** Stops taking commands, finishes the one in hand, marks the agent OFFLINE and closes its clients. */
  stop(): Promise<void>;
  /** Resolves when the agent has stopped; rejects if it stopped on a fatal error. */
  readonly done: Promise<void>;
}
