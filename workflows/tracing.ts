// The workflow's part of a trace, made without OpenTelemetry's SDK in the sandbox (docs/performance.md, "8."):
// the same spans Temporal's OpenTelemetry workflow interceptors make — RunWorkflow, StartActivity (local or
// not), StartChildWorkflow, SignalWorkflow, ContinueAsNew, HandleSignal and HandleUpdate, named as they
// name them — with the same trace header (`_tracer-data`, a W3C traceparent), handed out through the same sink
// (`exporter`, makeWorkflowExporter in the worker). Their SDK is evaluated anew for every run in the sandbox
// and cost the worker's workflow thread about a third of its time; this module is plain code.
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
  type Next,
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

/** The spans of one run: the run's own, and those of what it does. */
class RunTrace {
  private count = 0;
  private run: TraceContext | undefined;
  private runParent: string | undefined;
  private readonly exporter = proxySinks<OpenTelemetrySinks>().exporter;

  /** The run's span, started under the context of its start (a new trace when it has none). */
  startRun(parent: TraceContext | undefined): TraceContext {
    const { runId } = workflowInfo();
    this.runParent = parent?.spanId;
    this.run = {
      // A run started without a trace begins one; its id from the run id, a uuid's 32 hex digits.
      traceId: parent?.traceId ?? runId.replace(/-/g, '').padEnd(32, '0').slice(0, 32),
      spanId: this.nextId(),
      flags: parent?.flags ?? 1,
      ...(parent?.traceState ? { traceState: parent.traceState } : {}),
    };
    return this.run;
  }

  get current(): TraceContext | undefined {
    return this.run;
  }

  nextId(): string {
    return spanIdOf(workflowInfo().runId, this.count++);
  }

  /**
   * Runs `fn` as a span named `name`: a child of `parent` (default the run's span; none when the run has not
   * started, e.g. a signal before it), handed to the sink when it ends if the trace is sampled.
   */
  async span<T>(
    name: string,
    parent: TraceContext | undefined,
    fn: (context: TraceContext) => Promise<T>,
    options: { own?: TraceContext; acceptable?: (err: unknown) => boolean; parentSpanId?: string } = {},
  ): Promise<T> {
    const context: TraceContext = options.own ?? {
      traceId: parent?.traceId ?? workflowInfo().runId.replace(/-/g, '').padEnd(32, '0').slice(0, 32),
      spanId: this.nextId(),
      flags: parent?.flags ?? 1,
      ...(parent?.traceState ? { traceState: parent.traceState } : {}),
    };
    const parentSpanId = options.own ? options.parentSpanId : parent?.spanId;
    const start = Date.now();
    let status: SerializableSpan['status'] = { code: statusOk };
    const events: SerializableSpan['events'] = [];
    try {
      return await fn(context);
    } catch (err) {
      if (!options.acceptable?.(err)) {
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
      if (context.flags & 1) this.export(name, context, parentSpanId, start, Date.now(), status, events);
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
    const { traceState, ...ids } = context;
    const span = {
      name,
      kind: 0,
      spanContext: {
        traceId: ids.traceId,
        spanId: ids.spanId,
        traceFlags: ids.flags,
        ...(traceState ? { traceState } : {}),
      },
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

  get parentOfRun(): string | undefined {
    return this.runParent;
  }
}

class Inbound implements WorkflowInboundCallsInterceptor {
  constructor(private readonly trace: RunTrace) {}

  async execute(
    input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['execute']>>[0],
    next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const own = this.trace.startRun(contextOf(input.headers));
    return this.trace.span(`RunWorkflow:${workflowInfo().workflowType}`, undefined, () => next(input), {
      own,
      parentSpanId: this.trace.parentOfRun,
      acceptable: (err) => err instanceof ContinueAsNew,
    });
  }

  async handleSignal(
    input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleSignal']>>[0],
    next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>,
  ): Promise<void> {
    // Under the context of whoever sent it (the bridge's trace of the agent's answer), as Temporal's do.
    const parent = contextOf(input.headers) ?? this.trace.current;
    return this.trace.span(`HandleSignal:${input.signalName}`, parent, () => next(input));
  }

  async handleUpdate(
    input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['handleUpdate']>>[0],
    next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>,
  ): Promise<unknown> {
    const parent = contextOf(input.headers) ?? this.trace.current;
    return this.trace.span(`HandleUpdate:${input.name}`, parent, () => next(input));
  }
}

class Outbound implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly trace: RunTrace) {}

  private started<I extends { headers: Headers }, T>(name: string, input: I, next: (input: I) => Promise<T>) {
    return this.trace.span(name, this.trace.current, (context) =>
      next({ ...input, headers: withContext(input.headers, context) }),
    );
  }

  scheduleActivity(
    input: Parameters<NonNullable<WorkflowOutboundCallsInterceptor['scheduleActivity']>>[0],
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>,
  ): Promise<unknown> {
    return this.started(`StartActivity:${input.activityType}`, input, next);
  }

  scheduleLocalActivity(
    input: Parameters<NonNullable<WorkflowOutboundCallsInterceptor['scheduleLocalActivity']>>[0],
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ): Promise<unknown> {
    return this.started(`StartActivity:${input.activityType}`, input, next);
  }

  startChildWorkflowExecution(
    input: Parameters<NonNullable<WorkflowOutboundCallsInterceptor['startChildWorkflowExecution']>>[0],
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ) {
    return this.started(`StartChildWorkflow:${input.workflowType}`, input, next);
  }

  signalWorkflow(
    input: Parameters<NonNullable<WorkflowOutboundCallsInterceptor['signalWorkflow']>>[0],
    next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>,
  ): Promise<void> {
    return this.started(`SignalWorkflow:${input.signalName}`, input, next);
  }

  continueAsNew(
    input: Parameters<NonNullable<WorkflowOutboundCallsInterceptor['continueAsNew']>>[0],
    next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>,
  ): Promise<never> {
    return this.trace.span(
      `ContinueAsNew:${input.options.workflowType}`,
      this.trace.current,
      (context) => next({ ...input, headers: withContext(input.headers, context) }),
      { acceptable: (err) => err instanceof ContinueAsNew },
    );
  }

  getLogAttributes(
    input: Record<string, unknown>,
    next: Next<WorkflowOutboundCallsInterceptor, 'getLogAttributes'>,
  ): Record<string, unknown> {
    return next({ ...this.trace.logAttributes(), ...input });
  }
}

/** The interceptors of one run (the SDK calls this once per run; each run has its own trace). */
export const interceptors = (): WorkflowInterceptors => {
  const trace = new RunTrace();
  return { inbound: [new Inbound(trace)], outbound: [new Outbound(trace)] };
};
