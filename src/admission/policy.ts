// What orders the agents' work, as pure functions (no I/O: the workflow, the task client and the worker all
// import it). A task's priority becomes Temporal's task-queue priority for its run and activities; its fairness
// key (a plant line when the request names one, else its user) becomes Temporal's fairness key and the key the
// per-type limiter takes turns between. PRISM_AGENT_LIMITS caps the commands one agent type has in flight
// across every worker (src/stores/redis/admission.ts). docs/workflows.md ("Priority and fairness") and
// docs/configuration.md describe both.
import { agentTypes, isAgentType, type AgentType, type Priority } from '../task/contract.ts';

/**
 * Temporal's priority key of each priority: smaller runs sooner. The server's default range is 1–5 and a run
 * started without one gets 3, so a NORMAL task is ordered like a run any other client started plainly.
 */
export const priorityKeys: Record<Priority, number> = { HIGH: 1, NORMAL: 3, LOW: 5 };

/** The limiter's rank of each priority: the waiting commands of a lower rank are admitted first. */
export const priorityRanks: Record<Priority, number> = { HIGH: 0, NORMAL: 1, LOW: 2 };

/** The priority a Temporal priority key stands for (a run started by another SDK with any key 1–5). */
export function priorityOfKey(key: number | undefined): Priority {
  if (key === undefined || key === 0) return 'NORMAL';
  return key <= 2 ? 'HIGH' : key >= 4 ? 'LOW' : 'NORMAL';
}

/** Temporal limits fairness keys to 64 bytes. */
export const maxFairnessKeyBytes = 64;
/** The fairness key of a request that names no user and no line. */
export const anonymousFairnessKey = 'anonymous';

/**
 * Whose turn a task's work is taken in: `line:<line>` when the request's parameters name a plant line (one
 * line's flood of work cannot starve another line), else `user:<userId>`, else `anonymous`. At most 64 bytes.
 */
export function fairnessKeyOf(request: {
  userId?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
}): string {
  const line = request.parameters?.line;
  const key =
    typeof line === 'string' && line.trim().length > 0
      ? `line:${line.trim()}`
      : request.userId
        ? `user:${request.userId}`
        : anonymousFairnessKey;
  return truncateBytes(key, maxFairnessKeyBytes);
}

/** The longest prefix of whole characters within `max` UTF-8 bytes (no Buffer: workflow code uses it too). */
function truncateBytes(text: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

/** The Temporal priority of a task's run (and so of its activities, which inherit it). */
export function temporalPriorityOf(request: {
  priority: Priority;
  userId?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
}): { priorityKey: number; fairnessKey: string } {
  return { priorityKey: priorityKeys[request.priority], fairnessKey: fairnessKeyOf(request) };
}

export type AgentLimits = Partial<Record<AgentType, number>>;

/** The most commands in flight a limit may allow (a number beyond it is a typo, not a limit). */
export const maxAgentLimit = 10_000;

/**
 * PRISM_AGENT_LIMITS, e.g. `CONTROL=2,MONITORING=8`: the most commands each named agent type may have in
 * flight at once, across every worker. A type not named has no limit. Returns the limits, or the problems.
 */
export function parseAgentLimits(text: string | undefined): { limits: AgentLimits } | { problems: string[] } {
  const limits: AgentLimits = {};
  const problems: string[] = [];
  for (const part of (text ?? '').split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const match = /^([A-Za-z]+)\s*=\s*(\d+)$/.exec(entry);
    if (!match) {
      problems.push(`"${entry}" is not TYPE=N (for example CONTROL=2)`);
      continue;
    }
    const type = match[1]!.toUpperCase();
    const n = Number(match[2]);
    if (!isAgentType(type)) {
      problems.push(`"${match[1]}" is not an agent type: use ${agentTypes.join(', ')}`);
    } else if (type in limits) {
      problems.push(`${type} is named twice`);
    } else if (!Number.isSafeInteger(n) || n < 1 || n > maxAgentLimit) {
      problems.push(`${type}=${match[2]}: the limit must be a whole number from 1 to ${maxAgentLimit}`);
    } else {
      limits[type] = n;
    }
  }
  return problems.length > 0 ? { problems } : { limits };
}

/** The limits of a value already validated at start-up (src/config.ts). */
export function agentLimitsOf(text: string | undefined): AgentLimits {
  const parsed = parseAgentLimits(text);
  return 'limits' in parsed ? parsed.limits : {};
}
