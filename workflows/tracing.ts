// The workflow's part of a trace, made without OpenTelemetry's SDK in the sandbox (docs/performance.md,
// "8."): the same spans Temporal's OpenTelemetry workflow interceptors make — RunWorkflow, StartActivity
// (local or not), StartChildWorkflow, SignalWorkflow, ContinueAsNew, HandleSignal and HandleUpdate, named as
// they name them — with the same trace header (`_tracer-data`, a W3C traceparent), handed out through the
// same sink (`exporter`, makeWorkflowExporter in the worker). Their SDK is evaluated anew for every run in
// the sandbox and cost the worker's workflow thread about a third of its time; this module is plain code.
//
// Deterministic, as workflow code must be: span ids are derived from the run id and a counter (no
// Math.random, whose seeded sequence belongs to the workflow), and times are the workflow's clock (the time
// of the workflow task that ran the code). The sink is not called on replay, so a span leaves once.
import {
  ApplicationFailure,
  ApplicationFailureCategory,
  defaultPayloadConverter,
  type Headers,
} from '@temporalio/common';
import {
  ContinueAsNew,
  proxySinks,
  workflowInfo,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
// Types only: nothing of the package is bundled into the sandbox.
import type { OpenTelemetrySinks, SerializableSpan } from '@temporalio/interceptors-opentelemetry';

/** The header Temporal's OpenTelemetry interceptors carry the context in (their TRACE_HEADER). */
export const traceHeader = '_tracer-data';
const scope = { name: '@temporalio/interceptor-workflow' };
const statusOk = 1;
const statusError = 2;

/** A span's place in a trace: W3C trace context. */
export interface TraceContext {
  traceId: string;
  spanId: string;
  /** W3C trace flags; bit 0: sampled. */
  flags: number;
  traceState?: string;
}

/** The context a header carries (a payload of `{ traceparent, tracestate }`), or undefined. */
export function contextOf(headers: Headers): TraceContext | undefined {
  const payload = headers[traceHeader];
  if (!payload) return undefined;
  let carrier: { traceparent?: unknown; tracestate?: unknown };
  try {
    carrier = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
  const m =
    typeof carrier?.traceparent === 'string'
      ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(carrier.traceparent)
      : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return {
    traceId: m[1]!,
    spanId: m[2]!,
    flags: parseInt(m[3]!, 16),
    ...(typeof carrier.tracestate === 'string' && carrier.tracestate
      ? { traceState: carrier.tracestate }
      : {}),
  };
}

/** Headers that carry `context` (those given, and the trace header). */
export function withContext(headers: Headers, context: TraceContext): Headers {
  const flags = context.flags.toString(16).padStart(2, '0');
  const carrier: Record<string, string> = {
    traceparent: `00-${context.traceId}-${context.spanId}-${flags}`,
  };
  if (context.traceState) carrier.tracestate = context.traceState;
  return { ...headers, [traceHeader]: defaultPayloadConverter.toPayload(carrier)! };
}

/** 32 bits of FNV-1a of `text`, from `seed`. */
function fnv32(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A span id (16 hex digits, never all zeros) for the n-th span of a run. */
export function spanIdOf(runId: string, n: number): string {
  const key = `${runId}/${n}`;
  const id =
    fnv32(key, 0x811c9dc5).toString(16).padStart(8, '0') +
    fnv32(key, 0x050c5d1f).toString(16).padStart(8, '0');
  return /^0+$/.test(id) ? '0000000000000001' : id;
}

const hrTime = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

const isContinueAsNew = (err: unknown) => err instanceof ContinueAsNew;

/** The spans of one run: the run's own, and those of what it does. */
class RunTrace {
  private count = 0;
  /** The run's span, once its execution has started. */
  run: TraceContext | undefined;
  private readonly exporter = proxySinks<OpenTelemetrySinks>().exporter;

  /**
   * Runs `fn` as a span named `name`, a child of `parent` (none: a new trace, its id the run id's 32 hex
   * digits), handed to the sink when it ends if the trace is sampled.
   */
  async span<T>(
    name: string,
    parent: TraceContext | undefined,
    fn: (context: TraceContext) => Promise<T>,
    acceptable?: (err: unknown) => boolean,
  ): Promise<T> {
    const { runId } = workflowInfo();
    const context: TraceContext = {
      traceId: parent?.traceId ?? runId.replace(/-/g, '').padEnd(32, '0').slice(0, 32),
      spanId: spanIdOf(runId, this.count++),
      flags: parent?.flags ?? 1,
      ...(parent?.traceState ? { traceState: parent.traceState } : {}),
    };
    const start = Date.now();
    let status: SerializableSpan['status'] = { code: statusOk };
    const events: SerializableSpan['events'] = [];
    try {
      return await fn(context);
    } catch (err) {
      if (!acceptable?.(err)) {
        const benign =
          err instanceof ApplicationFailure && err.category === ApplicationFailureCategory.BENIGN;
        const message = err instanceof Error ? err.message : String(err);
        status = benign ? { code: 0 } : { code: statusError, message };
        events.push({
          name: 'exception',
          time: hrTime(Date.now()),
          attributes: {
            'exception.type': err instanceof Error ? err.name : typeof err,
            'exception.message': message,
            ...(err instanceof Error && err.stack ? { 'exception.stacktrace': err.stack } : {}),
          },
        } as SerializableSpan['events'][number]);
      }
      throw err;
    } finally {
      if (context.flags & 1) this.export(name, context, parent?.spanId, start, Date.now(), status, events);
    }
  }

  private export(
    name: string,
    context: TraceContext,
    parentSpanId: string | undefined,
    startMs: number,
    endMs: number,
    status: SerializableSpan['status'],
    events: SerializableSpan['events'],
  ): void {
    const { traceId, spanId, flags, traceState } = context;
    const span = {
      name,
      kind: 0,
      spanContext: { traceId, spanId, traceFlags: flags, ...(traceState ? { traceState } : {}) },
      ...(parentSpanId ? { parentSpanId } : {}),
      startTime: hrTime(startMs),
      endTime: hrTime(endMs),
      duration: hrTime(endMs - startMs),
      status,
      attributes: {},
      links: [],
      events,
      ended: true,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      instrumentationLibrary: scope,
    } as unknown as SerializableSpan;
    this.exporter.export([span]);
  }

  /** The run span's context, for the ids in the run's log lines. */
  logAttributes(): Record<string, string> {
    const run = this.run;
    if (!run) return {};
    return { trace_id: run.traceId, span_id: run.spanId, trace_flags: `0${run.flags.toString(16)}` };
  }
}

/** The interceptors of one run (the SDK calls this once per run; each run has its own trace). */
export const interceptors = (): WorkflowInterceptors => {
  const trace = new RunTrace();
  /** A span of what the run starts, under the run's span, its context in the headers it sends. */
  const started = <I extends { headers: Headers }, T>(
    name: string,
    input: I,
    next: (input: I) => Promise<T>,
    acceptable?: (err: unknown) => boolean,
  ) =>
    trace.span(
      name,
      trace.run,
      (context) => next({ ...input, headers: withContext(input.headers, context) }),
      acceptable,
    );
  /** A span of what the run is sent, under its sender's context (the bridge's trace of an answer). */
  const handled = <I extends { headers: Headers }, T>(
    name: string,
    input: I,
    next: (input: I) => Promise<T>,
  ) => trace.span(name, contextOf(input.headers) ?? trace.run, () => next(input));
  const inbound: WorkflowInboundCallsInterceptor = {
    execute: (input, next) =>
      trace.span(
        `RunWorkflow:${workflowInfo().workflowType}`,
        contextOf(input.headers),
        (context) => {
          trace.run = context;
          return next(input);
        },
        isContinueAsNew,
      ),
    handleSignal: (input, next) => handled(`HandleSignal:${input.signalName}`, input, next),
    handleUpdate: (input, next) => handled(`HandleUpdate:${input.name}`, input, next),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => started(`StartActivity:${input.activityType}`, input, next),
    scheduleLocalActivity: (input, next) => started(`StartActivity:${input.activityType}`, input, next),
    startChildWorkflowExecution: (input, next) =>
      started(`StartChildWorkflow:${input.workflowType}`, input, next),
    signalWorkflow: (input, next) => started(`SignalWorkflow:${input.signalName}`, input, next),
    continueAsNew: (input, next) =>
      started(`ContinueAsNew:${input.options.workflowType}`, input, next, isContinueAsNew),
    getLogAttributes: (input, next) => next({ ...trace.logAttributes(), ...input }),
  };
  return { inbound: [inbound], outbound: [outbound] };
};
