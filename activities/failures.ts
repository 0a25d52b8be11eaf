// How an activity fails: a PrismError leaves it as the ApplicationFailure its code maps to (src/errors.ts:
// the code as the type, not retried when it is the caller's mistake); anything else as Temporal makes it
// (retried, under the activity's retry policy). Every worker's activities go through withPrismFailures.
import { ApplicationFailure } from '@temporalio/activity';
import { failureOptionsOf, PrismError } from '../src/errors.ts';

/** The error an activity throws for `err`: an ApplicationFailure for a PrismError, `err` itself otherwise. */
export function toActivityFailure(err: unknown): unknown {
  return err instanceof PrismError ? ApplicationFailure.create(failureOptionsOf(err)) : err;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any activity's arguments
type Activity = (...args: any[]) => Promise<unknown>;

/** The same activities, each failing through toActivityFailure. */
export function withPrismFailures<T extends Record<string, Activity>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, activity]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await activity(...args);
        } catch (err) {
          throw toActivityFailure(err);
        }
      },
    ]),
  ) as T;
}
