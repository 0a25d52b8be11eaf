// A Temporal worker's part of a trace (src/tracing.ts): a span of each workflow run (RunWorkflow), of each
// activity it schedules and runs (StartActivity, RunActivity) and of each signal it handles, in the trace
// whose context the client put in the workflow's headers. In the workflow sandbox our own interceptors make
// them (workflows/tracing.ts: Temporal's names and header, without OpenTelemetry's SDK evaluated for every
// run); they leave through Temporal's sink (deterministic code cannot export) to the worker's exporter.
// The activities' side is Temporal's OpenTelemetry interceptors, outside the sandbox.
import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from '../tracing.ts';

/** The module of the workflow interceptors, bundled with the workflows when tracing is on. */
export const workflowInterceptors = fileURLToPath(new URL('../../workflows/tracing.ts', import.meta.url));

/** The worker options that trace its workflows and activities; none when tracing is off. */
export function workerTracing(tracing: Tracing): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing.enabled || !tracing.workflowSpans || !tracing.resource) return {};
  const { tracer } = tracing;
  return {
    interceptors: {
      workflowModules: [workflowInterceptors],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: {
      // The resource is the worker's; the processor gives each span it (src/tracing.ts workflowSpanProcessor).
      exporter: makeWorkflowExporter(
        tracing.workflowSpans as unknown as Parameters<typeof makeWorkflowExporter>[0],
        tracing.resource as unknown as Parameters<typeof makeWorkflowExporter>[1],
      ),
    },
  };
}
