// What happens to every command, whichever transport brought it: BUSY in Redis, the handler, the answer,
// IDLE again (see runtime.ts for the whole picture).
import { taskMemoryNamespace, uuidFrom } from '../task/ids.ts';
import { commandContext, type AgentIdentity } from './context.ts';
import type { AgentCommand, AgentResponse } from '../task/index.ts';
import { createEnvelope, type Envelope } from '../stores/kafka/envelope.ts';
import type { AgentStores } from './stores.ts';
import { CommandStores, retryDeadlineMs } from './resilient.ts';
import { createSharedMemory } from '../stores/redis/shared-memory.ts';
import type { AgentMetrics } from './metrics.ts';
import type { AgentHandler, AgentLogger } from './types.ts';
import { inSpan, SpanKind, SpanStatusCode } from '../tracing.ts';

/** The envelope id of the answer to a command: a re-processed command yields a message consumers dedupe. */
export function responseIdFor(commandId: string): string {
  return uuidFrom(`response:${commandId}`);
}

function reason(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Tracks the commands in hand, so the Redis state says BUSY while any runs and IDLE only when none does
 * (with concurrency > 1 several commands overlap).
 */
export class CommandTracker {
  private readonly inFlight = new Map<string, string>();
  constructor(
    private readonly identity: AgentIdentity,
    private readonly stores: AgentStores,
  ) {}

  async begin(command: AgentCommand): Promise<void> {
    this.inFlight.set(command.commandId, command.taskId);
    await this.stores.agentState.setState(this.identity.agentId, {
      status: 'BUSY',
      currentTask: command.taskId,
      fields: { commandId: command.commandId, stepKey: command.stepKey, agentType: this.identity.agentType },
    });
  }

  async end(command: AgentCommand, status: AgentResponse['status']): Promise<void> {
    this.inFlight.delete(command.commandId);
    const [other] = [...this.inFlight.entries()];
    await this.stores.agentState.setState(this.identity.agentId, {
      status: other ? 'BUSY' : 'IDLE',
      currentTask: other ? other[1] : null,
      fields: {
        commandId: other ? other[0] : null,
        stepKey: null,
        lastTask: command.taskId,
        lastStatus: status,
        agentType: this.identity.agentType,
      },
    });
  }
}

/**
 * Runs one command through the handler and returns the answer. A handler that throws gives a FAILED answer
 * with its message; only the agent's own store failures before the handler runs (its BUSY state in Redis,
 * after retrying until the deadline) reject, so the transport retries. Once the handler has run, nothing
 * rejects: the answer is given, and running the handler again would repeat its effects.
 */
type ExecuteOptions = {
  identity: AgentIdentity;
  stores: AgentStores;
  tracker: CommandTracker;
  handler: AgentHandler;
  command: AgentCommand;
  log: AgentLogger;
  metrics?: AgentMetrics;
};

export async function executeCommand(options: ExecuteOptions): Promise<AgentResponse> {
  const { identity, stores, command } = options;
  const tracer = stores.tracer;
  if (!tracer) return execute(options);
  // The agent's work, in the trace of the command (a child of the span that consumed it).
  return inSpan(
    tracer,
    `agent ${identity.agentType} ${command.stepKey}`,
    {
      attributes: {
        'prism.agent_id': identity.agentId,
        'prism.agent_type': identity.agentType,
        'prism.task_id': command.taskId,
        'prism.command_id': command.commandId,
        'prism.step_key': command.stepKey,
      },
    },
    async (span) => {
      const response = await execute(options);
      span.setAttribute('prism.answer_status', response.status);
      if (response.status === 'FAILED')
        span.setStatus({ code: SpanStatusCode.ERROR, message: response.error });
      return response;
    },
  );
}

async function execute(options: ExecuteOptions): Promise<AgentResponse> {
  const { identity, stores, tracker, handler, command, log, metrics } = options;
  const startedMs = Date.now();
  const resilient = new CommandStores(stores, retryDeadlineMs(command.deadlineAt), log);
  // The agent's state in Redis (BUSY, then IDLE or BUSY with another command): a store call of its own.
  const stateCall = <T>(status: string, work: () => Promise<T>): Promise<T> =>
    stores.tracer
      ? inSpan(
          stores.tracer,
          'redis agent state',
          { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis', 'prism.agent_status': status } },
          work,
        )
      : work();
  await stateCall('BUSY', () => resilient.retry('Redis', () => tracker.begin(command)));
  const base = {
    commandId: command.commandId,
    workflowId: command.workflowId,
    stepKey: command.stepKey,
    agentId: identity.agentId,
  };
  let response: AgentResponse;
  try {
    const result: unknown = await handler(command, commandContext(identity, stores, command, log));
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      throw new Error(
        `the ${identity.agentType} handler returned ${Array.isArray(result) ? 'an array' : String(result)}: return an object`,
      );
    }
    response = {
      ...base,
      status: 'SUCCESS',
      result: result as Record<string, unknown>,
      durationMs: Date.now() - startedMs,
    };
  } catch (err) {
    log.warn(`command ${command.commandId} failed: ${reason(err)}`, {
      taskId: command.taskId,
      stepKey: command.stepKey,
    });
    response = {
      ...base,
      status: 'FAILED',
      result: {},
      error: reason(err),
      durationMs: Date.now() - startedMs,
    };
  }
  // The task's other steps (a sibling running in parallel, too) can read this answer at once. The answer
  // itself matters more: a memory that cannot take it is logged, not fatal.
  try {
    const memory = createSharedMemory(resilient.redis, {
      namespace: taskMemoryNamespace(command.taskId),
      prefix: stores.options.redisPrefix,
    });
    await memory.update(`step.${command.stepKey}`, () => ({
      agentId: identity.agentId,
      agentType: identity.agentType,
      status: response.status,
      result: response.result,
      ...(response.error ? { error: response.error } : {}),
    }));
  } catch (err) {
    log.warn(`could not share the answer to ${command.commandId} in the task's memory: ${reason(err)}`);
  }
  try {
    await stateCall('IDLE', () => resilient.retry('Redis', () => tracker.end(command, response.status)));
  } catch (err) {
    log.warn(`could not set the agent's state after ${command.commandId}: ${reason(err)}`);
  }
  const labels = { agent_type: identity.agentType, outcome: response.status };
  metrics?.commands.inc(labels);
  metrics?.commandDuration.observe(labels, (response.durationMs ?? 0) / 1000);
  return response;
}

/**
 * The answers of the last commands, so a transport that retries after a failed publish or completion
 * re-sends the answer instead of running the command again.
 */
export class RecentAnswers {
  private readonly answers = new Map<string, AgentResponse>();
  constructor(private readonly max = 256) {}
  /** The answer already given to this command (`onKnown` is told), or `run()`'s, which is then remembered. */
  async answer(
    commandId: string,
    run: () => Promise<AgentResponse>,
    onKnown?: () => void,
  ): Promise<AgentResponse> {
    const known = this.answers.get(commandId);
    if (known) {
      onKnown?.();
      return known;
    }
    const response = await run();
    this.answers.set(commandId, response);
    if (this.answers.size > this.max) this.answers.delete(this.answers.keys().next().value!);
    return response;
  }
}

/** The envelope of an answer on `agent.orchestration.responses`. */
export function responseEnvelope(
  identity: AgentIdentity,
  command: Pick<AgentCommand, 'commandId' | 'workflowId'> & { taskId?: string },
  response: AgentResponse,
): Envelope {
  return createEnvelope({
    id: responseIdFor(command.commandId),
    type: 'agent.response',
    taskId: command.taskId,
    workflowId: command.workflowId,
    agentId: identity.agentId,
    agentType: identity.agentType,
    payload: response,
  });
}
