// Answers handed from the bridge to the dispatch that is waiting for them in the same process, so that a
// quick agent's answer comes back as the result of the step's dispatchCommand (one workflow task for the
// whole run) instead of as a signal and a second workflow task (docs/performance.md, change 10).
//
// Nothing is lost on the way: the bridge commits an answer's offset only once the dispatch has recorded the
// answer in PostgreSQL (a dispatch run again finds it there); when no dispatch here waits for it, or the
// record fails, the bridge signals the run as before.
import type { AgentResponse } from '../task/index.ts';

interface Waiter {
  /** Hands the answer over; resolves once the dispatch has recorded it (true) or could not (false). */
  take(response: AgentResponse): Promise<boolean>;
}

export interface PendingAnswer {
  /**
   * The answer, or undefined when none came within `ms` or `stop` was aborted first (the run then waits for it
   * as a signal, or no longer at all).
   */
  next(ms: number, stop?: AbortSignal): Promise<Taken | undefined>;
  /** Stops waiting (always call it: a dispatch that failed before `next`). */
  cancel(): void;
}

export interface Taken {
  response: AgentResponse;
  /** Tell the bridge whether the answer is recorded (its offset may be committed) or not (it signals). */
  recorded(ok: boolean): void;
}

export class InlineAnswers {
  private readonly waiters = new Map<string, Waiter>();
  /** Set by the bridge: true while this process's bridge is the only member of its group. */
  private sole = false;

  setSoleConsumer(sole: boolean): void {
    this.sole = sole;
  }

  /** Whether an answer to a command sent now would reach this process's bridge. */
  get available(): boolean {
    return this.sole;
  }

  /** Waiting for commands' answers right now (for tests and metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Registers the wait before the command is sent, so that no answer can come first and be missed. */
  expect(commandId: string): PendingAnswer {
    let arrived: ((taken: Taken) => void) | undefined;
    let early: Taken | undefined;
    const waiters = this.waiters;
    const waiter: Waiter = {
      take: (response) =>
        new Promise<boolean>((resolveRecorded) => {
          waiters.delete(commandId);
          const taken: Taken = { response, recorded: resolveRecorded };
          if (arrived) arrived(taken);
          else early = taken;
        }),
    };
    waiters.set(commandId, waiter);
    let handedOver = false;
    const cancel = () => {
      if (waiters.get(commandId) === waiter) waiters.delete(commandId);
      // An answer that came while the dispatch failed before asking for it: the bridge signals it.
      if (early && !handedOver) early.recorded(false);
    };
    return {
      cancel,
      next: (ms, stop) => {
        if (early) {
          handedOver = true;
          return Promise.resolve(early);
        }
        if (!waiters.has(commandId) || stop?.aborted) {
          cancel();
          return Promise.resolve(undefined);
        }
        return new Promise<Taken | undefined>((resolve) => {
          const giveUp = () => {
            clearTimeout(timer);
            stop?.removeEventListener('abort', giveUp);
            cancel();
            arrived = undefined;
            resolve(undefined);
          };
          const timer = setTimeout(giveUp, ms);
          stop?.addEventListener('abort', giveUp, { once: true });
          arrived = (taken) => {
            handedOver = true;
            clearTimeout(timer);
            stop?.removeEventListener('abort', giveUp);
            resolve(taken);
          };
        });
      },
    };
  }

  /**
   * Gives an answer to the dispatch waiting for it here: true once that dispatch recorded it, false when none
   * waits (or it could not record it) and the caller must deliver it as a signal.
   */
  deliver(response: AgentResponse): Promise<boolean> {
    const waiter = this.waiters.get(response.commandId);
    return waiter ? waiter.take(response) : Promise.resolve(false);
  }
}
