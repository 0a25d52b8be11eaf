// The API's part of a trace (src/tracing.ts): each request is a SERVER span `<METHOD> <route>`, the child of
// the caller's span when its request carries a W3C `traceparent` header, else the root of a new trace. The
// handler runs in it, so the workflow a POST /tasks starts (and everything after it) joins the same trace.
// The scrapes and probes (/metrics, /healthz, /readyz) and the API description are not traced.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { context, trace, type Context } from '@opentelemetry/api';
import { contextFromHeaders, SpanKind, SpanStatusCode, type Span, type Tracing } from '../tracing.ts';

const untraced = (url: string) =>
  url === '/metrics' ||
  url === '/healthz' ||
  url === '/readyz' ||
  url === '/docs' ||
  url.startsWith('/docs/');

export function registerTracing(app: FastifyInstance, tracing: Tracing): void {
  if (!tracing.enabled) return;
  const spans = new WeakMap<FastifyRequest, { span: Span; context: Context }>();
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && untraced(route)) return done();
    const parent = contextFromHeaders(request.headers);
    const span = tracing.tracer.startSpan(
      `${request.method} ${route ?? '(no route)'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0]!,
          ...(route ? { 'http.route': route } : {}),
          'http.request.id': request.id,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    spans.set(request, { span, context: active });
    context.with(active, done);
  });
  // The body is read between the hooks, outside the span's context: the handler is put back in it.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = spans.get(request);
    if (traced) context.with(traced.context, done);
    else done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    spans.get(request)?.span.recordException(error);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const traced = spans.get(request);
    if (traced) {
      traced.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) traced.span.setStatus({ code: SpanStatusCode.ERROR });
      traced.span.end();
      spans.delete(request);
    }
    done();
  });
}
