// The hand-over between the bridge and a waiting dispatch (src/worker/inline-answers.ts): an answer reaches
// the dispatch that waits for its command, the bridge learns whether it was recorded, and no answer is taken
// by a dispatch that stopped waiting — the bridge then signals it.
import { describe, expect, it } from 'vitest';
import { InlineAnswers } from '../../../src/worker/inline-answers.ts';
import type { AgentResponse } from '../../../src/task/index.ts';

const answer = (commandId: string): AgentResponse => ({
  commandId,
  workflowId: 'task-1',
  stepKey: 'main',
  agentId: 'agent-1',
  status: 'SUCCESS',
  result: { ok: true },
});

describe('InlineAnswers', () => {
  it('is available only while the bridge says it is the one member of its group', () => {
    const inline = new InlineAnswers();
    expect(inline.available).toBe(false);
    inline.setSoleConsumer(true);
    expect(inline.available).toBe(true);
    inline.setSoleConsumer(false);
    expect(inline.available).toBe(false);
  });

  it('hands an answer to the dispatch waiting for its command, and tells the bridge it was recorded', async () => {
    const inline = new InlineAnswers();
    const pending = inline.expect('c-1');
    const next = pending.next(5_000);
    const delivered = inline.deliver(answer('c-1'));
    const taken = await next;
    expect(taken?.response).toEqual(answer('c-1'));
    taken!.recorded(true);
    await expect(delivered).resolves.toBe(true);
    expect(inline.waiting).toBe(0);
  });

  it('keeps an answer that comes before the dispatch asks for it (the agent answered during the send)', async () => {
    const inline = new InlineAnswers();
    const pending = inline.expect('c-2');
    const delivered = inline.deliver(answer('c-2'));
    const taken = await pending.next(5_000);
    expect(taken?.response.commandId).toBe('c-2');
    taken!.recorded(false); // the record failed: the bridge must signal it
    await expect(delivered).resolves.toBe(false);
  });

  it('gives nothing when no answer comes in time, and the late answer goes to the bridge as a signal', async () => {
    const inline = new InlineAnswers();
    const pending = inline.expect('c-3');
    await expect(pending.next(20)).resolves.toBeUndefined();
    expect(inline.waiting).toBe(0);
    await expect(inline.deliver(answer('c-3'))).resolves.toBe(false);
  });

  it('stops waiting when its activity is cancelled, and leaves a later answer to the bridge', async () => {
    const inline = new InlineAnswers();
    const stop = new AbortController();
    const pending = inline.expect('c-7');
    const next = pending.next(60_000, stop.signal);
    stop.abort();
    await expect(next).resolves.toBeUndefined();
    expect(inline.waiting).toBe(0);
    await expect(inline.deliver(answer('c-7'))).resolves.toBe(false);
    // Already cancelled before it asks: no wait at all.
    const again = inline.expect('c-8');
    await expect(again.next(60_000, stop.signal)).resolves.toBeUndefined();
    expect(inline.waiting).toBe(0);
  });

  it('answers to commands nobody here waits for go to the bridge as signals', async () => {
    const inline = new InlineAnswers();
    inline.expect('c-4');
    await expect(inline.deliver(answer('c-other'))).resolves.toBe(false);
    expect(inline.waiting).toBe(1);
  });

  it('a dispatch that stops before asking releases an answer that came meanwhile to the bridge', async () => {
    const inline = new InlineAnswers();
    const pending = inline.expect('c-5');
    const delivered = inline.deliver(answer('c-5'));
    pending.cancel();
    await expect(delivered).resolves.toBe(false);
    expect(inline.waiting).toBe(0);
  });

  it('a second answer to the same command, after the first was taken, is the bridge’s to signal', async () => {
    const inline = new InlineAnswers();
    const pending = inline.expect('c-6');
    const first = inline.deliver(answer('c-6'));
    await expect(inline.deliver(answer('c-6'))).resolves.toBe(false);
    (await pending.next(1_000))!.recorded(true);
    await expect(first).resolves.toBe(true);
  });
});
