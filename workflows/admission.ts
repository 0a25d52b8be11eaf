// The run's side of the per-type limit on commands in flight (PRISM_AGENT_LIMITS; activities/admission.ts):
// step 3 asks for a slot of the step's agent type as it dispatches; when the type is at its limit the command
// is not sent and the run waits its turn — durably, as a workflow — until a run that frees a slot wakes it
// (the `agentSlotFreed` signal) or, should that signal never come, its own timer asks again (1 s, doubling to
// 30 s). Once the agent has answered, the run frees the slot and wakes the runs the freed slot admitted. A
// type without a limit takes none of this: the dispatch answers as before, and nothing is released.
// Old runs replay unchanged: every new command here follows from an activity's recorded result (`waiting`,
// `slot`, `wake`), which runs recorded before the limits never have.
import {
  CancellationScope,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdmittedCommand, WaitingCommand } from '../activities/admission.ts';
import type { TaskActivities } from '../activities/index.ts';
import type { ValidTaskRequest } from '../src/task/contract.ts';

/** Sent to a waiting run when a freed slot admitted its command: it dispatches again, now admitted. */
export const agentSlotFreedSignal = 'agentSlotFreed';
export const agentSlotFreed = defineSignal<[]>(agentSlotFreedSignal);

/** A slot is held at most the step's agent timeout and this margin (the run releases it sooner). */
export const slotLeaseMarginMs = 60_000;
const firstPauseMs = 1_000;
const maxPauseMs = 30_000;

type Stores = Pick<TaskActivities, 'dispatchCommand' | 'releaseAgentSlot'>;
type DispatchInput = Omit<Parameters<TaskActivities['dispatchCommand']>[0], 'admission'>;

export interface Admission {
  /** Step 3 behind the limit: resolves once the command is sent (after waiting its turn, if it had to). */
  dispatch(input: DispatchInput, onWait?: (position: number) => void): Promise<AdmittedCommand>;
  /** Frees the command's slot, if it holds one, and wakes the runs admitted in its place. */
  release(sent: AdmittedCommand): Promise<void>;
}

export function createAdmission(
  stores: Stores,
  request: Pick<ValidTaskRequest, 'priority' | 'userId' | 'parameters' | 'agentTimeoutMs'>,
): Admission {
  let wakes = 0;
  setHandler(agentSlotFreed, () => void wakes++);
  const self = workflowInfo().workflowId;
  const admission = {
    priority: request.priority,
    ...(request.userId ? { userId: request.userId } : {}),
    leaseMs: request.agentTimeoutMs + slotLeaseMarginMs,
  };
  // A run that ended meanwhile cannot be signalled: nothing to wake.
  const wake = async (runs: string[] | undefined) => {
    const others = [...new Set(runs ?? [])].filter((run) => {
      if (run !== self) return true;
      wakes++;
      return false;
    });
    await Promise.all(
      others.map((run) =>
        getExternalWorkflowHandle(run)
          .signal(agentSlotFreed)
          .catch(() => undefined),
      ),
    );
  };
  const giveUp = (slot: WaitingCommand['slot']) =>
    CancellationScope.nonCancellable(async () => wake((await stores.releaseAgentSlot(slot)).wake));

  return {
    async dispatch(input, onWait) {
      let pause = firstPauseMs;
      let deadlineAt = input.deadlineAt;
      for (;;) {
        const seen = wakes;
        const result = await stores.dispatchCommand({ ...input, deadlineAt, admission });
        await wake(result.wake);
        if (!('waiting' in result)) return result;
        onWait?.(result.waiting.position);
        try {
          await condition(() => wakes > seen, pause);
        } catch (err) {
          // Cancelled while in line: the place goes to the next.
          if (isCancellation(err)) await giveUp(result.slot);
          throw err;
        }
        pause = Math.min(pause * 2, maxPauseMs);
        // The step's time for its agent starts when the command is sent, not while it waited its turn.
        deadlineAt = new Date(Date.now() + request.agentTimeoutMs).toISOString();
      }
    },
    async release(sent) {
      if (sent.slot) await giveUp(sent.slot);
    },
  };
}
