// Tracing: OpenTelemetry spans of every component (the API, the workers, the agents), exported over OTLP/HTTP
// to the stack's Jaeger (docs/monitoring.md#traces). One task is one trace: the API request, the workflow
// and its activities (Temporal's interceptors carry the context in Temporal's headers), the Kafka command and
// the agent's answer (W3C `traceparent`/`tracestate` Kafka headers, docs/agent-protocol.md#tracing), the
// agent's work and its store calls.
//
// Each component has a tracer provider of its own (its `service.name` in Jaeger), none of them global: the
// tests run the API, the worker and the agents in one process. They share one batching processor and one
// exporter per process. PRISM_TRACING=off gives every component a tracer that makes no spans.
import {
  context,
  propagation,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Env } from './config.ts';

export type TracingEnv = Pick<
  Env,
  'PRISM_TRACING' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_TRACES_SAMPLER' | 'OTEL_TRACES_SAMPLER_ARG'
>;

/** The tracing of one component: its tracer, and what the Temporal worker needs for its workflows' spans. */
export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** The component's `service.name` and version, for the spans the workflow sandbox makes. */
  readonly resource: Resource | null;
  /** Where the spans the workflow sandbox makes go (Temporal's sink). */
  readonly workflowSpans: SpanProcessor | null;
  /** Sends the spans still buffered (before a component stops). */
  flush(): Promise<void>;
}

const disabled: Tracing = {
  enabled: false,
  tracer: new ProxyTracerProvider().getTracer('prism'),
  resource: null,
  workflowSpans: null,
  flush: async () => {},
};

function samplerOf(env: TracingEnv): Sampler {
  const ratio = new TraceIdRatioBasedSampler(env.OTEL_TRACES_SAMPLER_ARG);
  switch (env.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

let globalsRegistered = false;

/** The process-wide context (AsyncLocalStorage) and W3C propagation: what carries a span across awaits. */
function registerGlobals(): void {
  if (globalsRegistered) return;
  globalsRegistered = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/** One exporter and batching processor per endpoint, shared by the components of a process. */
const processors = new Map<string, BatchSpanProcessor>();
const components = new Map<string, Tracing>();

function processorFor(endpoint: string): BatchSpanProcessor {
  let processor = processors.get(endpoint);
  if (!processor) {
    const exporter = new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, timeoutMillis: 5_000 });
    // Spans leave in batches of up to 512 every second; when Jaeger is away the queue holds 4096 and drops
    // the rest (a trace store that is down never slows a task down).
    processor = new BatchSpanProcessor(exporter, {
      maxQueueSize: 4096,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 1_000,
    });
    processors.set(endpoint, processor);
  }
  return processor;
}

/**
 * The tracing of one component (`prism-api`, `prism-worker`, `prism-agent-monitoring`, ...), made once per
 * process and configuration.
 */
export function tracingFor(env: TracingEnv, service: string): Tracing {
  if (env.PRISM_TRACING === 'off' || env.OTEL_TRACES_SAMPLER === 'always_off') return disabled;
  const key = [
    service,
    env.OTEL_EXPORTER_OTLP_ENDPOINT,
    env.OTEL_TRACES_SAMPLER,
    env.OTEL_TRACES_SAMPLER_ARG,
  ].join('|');
  let tracing = components.get(key);
  if (!tracing) {
    registerGlobals();
    const processor = processorFor(env.OTEL_EXPORTER_OTLP_ENDPOINT);
    const resource = resourceFromAttributes({ 'service.name': service, 'service.namespace': 'prism' });
    const provider = new BasicTracerProvider({
      resource,
      sampler: samplerOf(env),
      spanProcessors: [processor],
    });
    tracing = {
      enabled: true,
      tracer: provider.getTracer('prism'),
      resource,
      workflowSpans: workflowSpanProcessor(processor, resource),
      flush: () => processor.forceFlush(),
    };
    components.set(key, tracing);
  }
  return tracing;
}

/**
 * Temporal's workflow interceptors (built on the OpenTelemetry SDK 1.x) hand over spans of the 1.x shape: a
 * `parentSpanId` and an `instrumentationLibrary` where the 2.x exporter reads `parentSpanContext` and
 * `instrumentationScope`. This processor turns them into 2.x spans of the worker's resource, so a workflow's
 * spans keep their parents in the trace.
 */
export function workflowSpanProcessor(processor: SpanProcessor, resource: Resource): SpanProcessor {
  return {
    onStart: () => {},
    onEnd(span) {
      const legacy = span as ReadableSpan & {
        parentSpanId?: string;
        instrumentationLibrary?: { name: string; version?: string };
      };
      const spanContext = legacy.spanContext();
      const parentSpanContext: SpanContext | undefined =
        legacy.parentSpanContext ??
        (legacy.parentSpanId
          ? {
              traceId: spanContext.traceId,
              spanId: legacy.parentSpanId,
              traceFlags: spanContext.traceFlags,
              isRemote: false,
            }
          : undefined);
      const converted: ReadableSpan = {
        name: legacy.name,
        kind: legacy.kind,
        spanContext: () => spanContext,
        parentSpanContext,
        startTime: legacy.startTime,
        endTime: legacy.endTime,
        status: legacy.status,
        attributes: legacy.attributes,
        links: legacy.links,
        events: legacy.events,
        duration: legacy.duration,
        ended: legacy.ended,
        resource,
        instrumentationScope: legacy.instrumentationScope ??
          legacy.instrumentationLibrary ?? { name: '@temporalio/interceptor-workflow' },
        droppedAttributesCount: legacy.droppedAttributesCount,
        droppedEventsCount: legacy.droppedEventsCount,
        droppedLinksCount: legacy.droppedLinksCount,
      };
      processor.onEnd(converted);
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: async () => {},
  };
}

/** The tracer to give the Kafka publisher and consumers: none when tracing is off (no headers, no spans). */
export function tracerOf(tracing: Tracing): Tracer | undefined {
  return tracing.enabled ? tracing.tracer : undefined;
}

/**
 * Runs `fn` in a new span (the child of the active one), ended when `fn` settles; an error marks the span
 * and is thrown on. With tracing off the tracer makes no span and this costs a function call.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * A store client whose calls are CLIENT spans `<store> <method>` (`redis hset`, `influxdb collectRows`), in
 * the active trace: every method that returns a promise, on the client and on the objects it holds
 * (`collection.query.hybrid`). The spans' parent is whatever span is active where the call is made.
 */
export function tracedClient<T extends object>(client: T, tracer: Tracer, store: string): T {
  const wrapped = new WeakMap<object, object>();
  const wrap = <O extends object>(target: O, path: string): O => {
    const known = wrapped.get(target);
    if (known) return known as O;
    const proxy = new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof prop === 'symbol') return value;
        if (typeof value === 'function') {
          if (prop === 'constructor') return value;
          return (...args: unknown[]) => {
            const startTime = Date.now();
            const result = Reflect.apply(value, obj, args) as unknown;
            // Only real promises: a lazy thenable (Prisma's) must not be run by being awaited here.
            if (!(result instanceof Promise)) return result;
            const span = tracer.startSpan(`${store} ${path}${prop}`, {
              kind: SpanKind.CLIENT,
              startTime,
              attributes: { 'db.system.name': store, 'db.operation.name': prop },
            });
            return result.then(
              (value: unknown) => {
                span.end();
                return value;
              },
              (err: unknown) => {
                span.recordException(err as Error);
                span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
                span.end();
                throw err;
              },
            );
          };
        }
        if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          !(value instanceof Promise)
        )
          return wrap(value, `${path}${prop}.`);
        return value;
      },
    });
    wrapped.set(target, proxy);
    return proxy;
  };
  return wrap(client, '');
}

/** The W3C trace context of the active span as message headers (`traceparent`, `tracestate`); none when there is no span. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a message's headers carry (Kafka's values are Buffers, or arrays of them). */
export function contextFromHeaders(headers: Record<string, unknown> | undefined): Context {
  const carrier: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    let value = headers?.[name];
    if (Array.isArray(value)) value = value[0];
    if (value !== undefined && value !== null) carrier[name] = String(value);
  }
  return propagation.extract(context.active(), carrier);
}

/** The trace id of the active span, when it is sampled (a trace Jaeger will have). */
export function activeTraceId(ctx: Context = context.active()): string | null {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return null;
  return spanContext.traceFlags & 1 ? spanContext.traceId : null;
}

export { SpanKind, SpanStatusCode, type Tracer, type Span };
