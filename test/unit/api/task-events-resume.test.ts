// Resuming the stream of an ended run reads its history first (src/api/routes/task-events.ts readEndedRun):
// a read that takes too long answers 503 naming Temporal, and a client that hangs up stops it. The history
// itself is read from Temporal in test/integration/api/task-events.test.ts; here a stand-in for the reader
// that, like watchRunEvents, throws when its signal aborts.
import { describe, expect, it } from 'vitest';
import { readEndedRun } from '../../../src/api/routes/task-events.ts';
import { PrismError, httpStatusOf } from '../../../src/errors.ts';
import type { TaskEvent } from '../../../src/task/events.ts';

const one = { id: '1', type: 'task.started', workflowId: 'wf', runId: 'r', at: '', data: {} } as TaskEvent;

/** Yields one event, then waits for more until its signal aborts (a long poll). */
const stalled = (seen: AbortSignal[]) =>
  async function* (signal: AbortSignal): AsyncGenerator<TaskEvent> {
    seen.push(signal);
    yield one;
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  };

describe('resuming an ended run’s events', () => {
  it('reads them all', async () => {
    const all = async function* (): AsyncGenerator<TaskEvent> {
      yield one;
    };
    expect(await readEndedRun(all, new AbortController().signal)).toEqual([one]);
  });

  it('answers 503 naming Temporal when the read takes too long', async () => {
    const err = await readEndedRun(stalled([]), new AbortController().signal, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrismError);
    expect((err as PrismError).code).toBe('SERVICE_UNAVAILABLE');
    expect(httpStatusOf(err)).toBe(503);
    expect((err as Error).message).toMatch(/Temporal/);
  });

  it('stops reading when the client hangs up', async () => {
    const seen: AbortSignal[] = [];
    const hangUp = new AbortController();
    const reading = readEndedRun(stalled(seen), hangUp.signal, 60_000);
    await new Promise((r) => setTimeout(r, 20));
    hangUp.abort();
    expect(await reading).toBeNull();
    expect(seen[0]!.aborted).toBe(true);
  });
});
