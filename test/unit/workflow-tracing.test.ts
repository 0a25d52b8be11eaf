// The trace context of the workflow sandbox's own interceptors (workflows/tracing.ts): what they put in a
// header, Temporal's OpenTelemetry interceptors of the activities (outside the sandbox) read as the same
// context, and what those put in a header the sandbox reads back; span ids are deterministic by run and
// counter. The spans themselves, in one trace with the API's, the Kafka command's and the agent's:
// test/e2e/tracing.test.ts.
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
// The functions Temporal's interceptors carry the context with (not exported from the package's root).
import {
  extractContextFromHeaders,
  headersWithContext,
} from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextOf, spanIdOf, traceHeader, withContext } from '../../workflows/tracing.ts';

beforeAll(() => {
  // As a process that traces has them (src/tracing.ts).
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

describe('the workflow sandbox’s trace context', () => {
  const ids = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

  it('writes a header Temporal’s activity interceptors read as the same span', () => {
    const headers = withContext({}, { ...ids, flags: 1, traceState: 'vendor=x' });
    const read = trace.getSpanContext(extractContextFromHeaders(headers)!)!;
    expect(read).toMatchObject({ ...ids, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(read.traceState?.serialize()).toBe('vendor=x');
    // Not sampled: the flag goes along, so that nothing downstream records the trace either.
    const unsampled = withContext({}, { ...ids, flags: 0 });
    expect(trace.getSpanContext(extractContextFromHeaders(unsampled)!)!.traceFlags).toBe(TraceFlags.NONE);
  });

  it('reads the header Temporal’s client and signal interceptors write', () => {
    const span = trace.wrapSpanContext({ ...ids, traceFlags: TraceFlags.SAMPLED });
    const headers = context.with(trace.setSpan(context.active(), span), () => headersWithContext({}));
    expect(contextOf(headers)).toEqual({ ...ids, flags: 1 });
  });

  it('reads no context from a missing or malformed header, and keeps other headers', () => {
    expect(contextOf({})).toBeUndefined();
    const other = {
      other: {
        metadata: { encoding: new TextEncoder().encode('json/plain') },
        data: new TextEncoder().encode('1'),
      },
    };
    const bad = withContext(other, { traceId: '0'.repeat(32), spanId: ids.spanId, flags: 1 });
    expect(Object.keys(bad).sort()).toEqual(['other', traceHeader].sort());
    expect(contextOf(bad)).toBeUndefined();
  });

  it('derives span ids from the run and a counter: the same on replay, distinct within a run', () => {
    const runId = '0193a1c2-7d4e-7f00-8a1b-2c3d4e5f6a7b';
    expect(spanIdOf(runId, 0)).toBe(spanIdOf(runId, 0));
    const many = new Set(Array.from({ length: 1000 }, (_, n) => spanIdOf(runId, n)));
    expect(many.size).toBe(1000);
    for (const id of many) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(spanIdOf('another-run', 0)).not.toBe(spanIdOf(runId, 0));
  });
});
