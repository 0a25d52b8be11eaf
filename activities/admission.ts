// The per-type limit on commands in flight (PRISM_AGENT_LIMITS), around step 3: a command of a limited type
// is sent only once the fleet-wide semaphore (src/stores/redis/admission.ts) admits it; until then its
// dispatch answers `waiting` and the run waits (workflows/admission.ts). A type without a limit costs nothing:
// no Redis call, the dispatch as before. The slot is released by the run once the agent has answered.
import type { AgentType, Priority } from '../src/task/index.ts';
import { commandIdFor } from '../src/task/ids.ts';
import { agentLimitsOf, fairnessKeyOf } from '../src/admission/policy.ts';
import { createAdmissionStore } from '../src/stores/redis/admission.ts';
import type { ActivityDeps } from './deps.ts';
import type { DispatchedCommand, dispatchActivities } from './dispatch.ts';

/** What the run says about the command's turn (it knows the request; the activity does not). */
export interface AdmissionInput {
  priority: Priority;
  /** The request's user: with the command's parameters (a plant line), whose turn it is (fairnessKeyOf). */
  userId?: string;
  /** How long the slot may be held at most: the step's agent timeout and a margin. */
  leaseMs: number;
}

/** A command sent; `slot` when it holds one of its type's slots (released after the answer). */
export type AdmittedCommand = DispatchedCommand & {
  slot?: { agentType: AgentType; holder: string; limit: number };
  /** Runs whose commands were admitted by this call (woken by the caller). */
  wake?: string[];
};
/** Not sent: the type is at its limit and the command waits its turn. */
export interface WaitingCommand {
  waiting: { position: number };
  /** The place in line, which the run gives up (releaseAgentSlot) if it stops waiting. */
  slot: { agentType: AgentType; holder: string; limit: number };
  wake: string[];
}

type Dispatch = ReturnType<typeof dispatchActivities>['dispatchCommand'];
type DispatchInput = Parameters<Dispatch>[0];

/**
 * Who holds the step's slot: its command id, of this run (a retry's run has its own, `…@<attempt>`, so it
 * never takes over a slot an earlier run of the task still holds). The activity's retries share it: a
 * retry is admitted on the slot its earlier attempt took, and an attempt that fails releases it — so an
 * attempt that timed out but still runs could free the slot its successor holds (until the lease ends, one
 * more command of the type may be in flight); the local activity's 30 s timeout makes that rare.
 */
export const slotHolderFor = (input: Pick<DispatchInput, 'taskId' | 'step' | 'attempt'>): string =>
  commandIdFor(input.taskId, input.step.key, input.attempt);

export function admissionActivities(
  deps: Pick<ActivityDeps, 'env' | 'redis'>,
  { dispatchCommand }: { dispatchCommand: Dispatch },
) {
  const limits = agentLimitsOf(deps.env.PRISM_AGENT_LIMITS);
  const store = createAdmissionStore(deps.redis);
  return {
    /** Step 3, admitted: as dispatchCommand, after a slot of the step's agent type is had (when it is limited). */
    async dispatchCommand(
      input: DispatchInput & { admission?: AdmissionInput },
    ): Promise<AdmittedCommand | WaitingCommand> {
      const agentType = input.step.agentType;
      const limit = limits[agentType];
      if (limit === undefined || !input.admission) return dispatchCommand(input);
      const holder = slotHolderFor(input);
      const turn = await store.acquire({
        agentType,
        holder,
        limit,
        priority: input.admission.priority,
        fairnessKey: fairnessKeyOf({ userId: input.admission.userId, parameters: input.parameters }),
        leaseMs: input.admission.leaseMs,
        workflowId: input.workflowId,
      });
      if (!turn.admitted) {
        return { waiting: { position: turn.position }, slot: { agentType, holder, limit }, wake: turn.wake };
      }
      try {
        const sent = await dispatchCommand(input);
        return { ...sent, slot: { agentType, holder, limit }, wake: turn.wake };
      } catch (err) {
        // Not sent: the slot goes to the next in line (a retry of this activity asks for it again).
        await store.release({ agentType, holder, limit }).catch(() => undefined);
        throw err;
      }
    },

    /** Frees a command's slot once its agent answered (or the step ended without an answer). */
    async releaseAgentSlot(input: {
      agentType: AgentType;
      holder: string;
      limit: number;
    }): Promise<{ wake: string[] }> {
      return { wake: await store.release(input) };
    },
  };
}
