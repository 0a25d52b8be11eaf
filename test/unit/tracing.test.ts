// Tracing's configuration and its pure parts (src/tracing.ts): a bad setting stops a process naming it; off
// makes no span and no header; the W3C headers a span puts on a message give the consumer the same trace;
// a span of the workflow sandbox (the 1.x shape of Temporal's interceptors) keeps its parent on its way to
// the 2.x exporter. The whole path through the real services: test/e2e/tracing.test.ts.
import { context, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.ts';
import {
  activeTraceId,
  contextFromHeaders,
  inSpan,
  traceHeaders,
  tracerOf,
  tracingFor,
  workflowSpanProcessor,
} from '../../src/tracing.ts';

const worker = {
  POSTGRES_APP_PASSWORD: 'secret-app',
  REDIS_WORKER_PASSWORD: 'secret-redis',
  KAFKA_WORKER_PASSWORD: 'secret-kafka',
  INFLUX_PASSWORD: 'secret-influx',
};

function problemsOf(raw: Record<string, string>): string[] {
  try {
    parseConfig({ ...worker, ...raw }, 'worker');
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.field);
  }
}

describe('tracing settings', () => {
  it('default to on, parent-based sampling of every trace, sent to the stack’s Jaeger', () => {
    const env = parseConfig(worker, 'worker');
    expect(env.PRISM_TRACING).toBe('on');
    expect(env.OTEL_TRACES_SAMPLER).toBe('parentbased_traceidratio');
    expect(env.OTEL_TRACES_SAMPLER_ARG).toBe(1);
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:14318');
    expect(env.JAEGER_URL).toBe('http://127.0.0.1:16686');
  });

  it('stop a process at start-up naming each bad one', () => {
    expect(problemsOf({ PRISM_TRACING: 'yes' })).toEqual(['PRISM_TRACING']);
    expect(problemsOf({ OTEL_TRACES_SAMPLER: 'sometimes' })).toEqual(['OTEL_TRACES_SAMPLER']);
    expect(problemsOf({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toEqual(['OTEL_TRACES_SAMPLER_ARG']);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector:4318' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
    // The API links to the trace: its own variable.
    expect(() =>
      parseConfig(
        {
          POSTGRES_APP_PASSWORD: 'secret-app',
          REDIS_API_PASSWORD: 'secret-redis',
          KAFKA_API_PASSWORD: 'secret-kafka',
          INFLUX_PASSWORD: 'secret-influx',
          JAEGER_URL: 'not a url',
        },
        'api',
      ),
    ).toThrow(/JAEGER_URL/);
  });
});

describe('tracing in a process', () => {
  const on = parseConfig(worker, 'worker');

  it('off: no tracer for Kafka, no span, no header', async () => {
    const off = tracingFor({ ...on, PRISM_TRACING: 'off' }, 'prism-test-off');
    expect(off.enabled).toBe(false);
    expect(tracerOf(off)).toBeUndefined();
    await inSpan(off.tracer, 'nothing', {}, async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(activeTraceId()).toBeNull();
      expect(traceHeaders()).toEqual({});
    });
  });

  it('carries a span’s trace in W3C headers to the consumer, Kafka’s Buffers included', async () => {
    const tracing = tracingFor(on, 'prism-test-headers');
    expect(tracing.enabled).toBe(true);
    await inSpan(tracing.tracer, 'publish', {}, async (span) => {
      const headers = traceHeaders();
      const { traceId, spanId } = span.spanContext();
      expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      expect(activeTraceId()).toBe(traceId);
      // As kafkajs hands them to a consumer: Buffers.
      const received = contextFromHeaders({ traceparent: Buffer.from(headers.traceparent!) });
      await inSpan(tracing.tracer, 'process', { parent: received }, async (child) => {
        expect(child.spanContext().traceId).toBe(traceId);
        expect(
          (child as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId,
        ).toBe(spanId);
      });
    });
    // Outside any span: nothing to carry.
    expect(traceHeaders(context.active())).toEqual({});
  });

  it('keeps the parent of a workflow sandbox span (1.x shape) for the 2.x exporter', () => {
    const ended: ReadableSpan[] = [];
    const collect: SpanProcessor = {
      onStart: () => {},
      onEnd: (span) => ended.push(span),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const resource = resourceFromAttributes({ 'service.name': 'prism-worker' });
    const spanContext = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED };
    // What Temporal's sink hands over (makeWorkflowExporter): parentSpanId and instrumentationLibrary.
    const legacy = {
      name: 'RunWorkflow:agentTask',
      kind: 0,
      spanContext: () => spanContext,
      parentSpanId: 'c'.repeat(16),
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
      startTime: [1, 0],
      endTime: [2, 0],
      duration: [1, 0],
      status: { code: 0 },
      attributes: { workflowId: 'task-1' },
      links: [],
      events: [],
      ended: true,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    workflowSpanProcessor(collect, resource).onEnd(legacy as unknown as ReadableSpan);
    expect(ended).toHaveLength(1);
    const span = ended[0]!;
    expect(span.parentSpanContext).toMatchObject({ traceId: 'a'.repeat(32), spanId: 'c'.repeat(16) });
    expect(span.spanContext().spanId).toBe('b'.repeat(16));
    expect(span.instrumentationScope.name).toBe('@temporalio/interceptor-workflow');
    expect(span.resource.attributes['service.name']).toBe('prism-worker');
    expect(span.attributes).toEqual({ workflowId: 'task-1' });
  });
});
