// Alerts: Alertmanager's webhook (each alert of a notification published on `agent.monitoring.alerts`, where
// the alert handler takes it, as it takes the agents' own), and what operators do with alerts: list,
// acknowledge (no re-raise unless it worsens, no escalation), resolve by hand.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  alertEnvelope,
  alertmanagerWebhookSchema,
  fromAlertmanager,
  manualResolution,
  type AlertEvent,
} from '../../alerts/event.ts';
import { AlertNotFiringError, AlertNotFoundError, createAlertStore } from '../../alerts/store.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { apiKeyOf, principalOf } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { PrismError } from '../../errors.ts';
import { defineRoute } from '../route.ts';
import { errorSchema } from '../schemas/common.ts';
import {
  alertListSchema,
  alertSchema,
  fingerprintParams,
  listAlertsQuery,
  resolveAlertBody,
  webhookAcceptedSchema,
} from '../schemas/alerts.ts';

/** Alertmanager authenticates with its own token (ALERTMANAGER_WEBHOOK_TOKEN), compared in constant time. */
function checkWebhookToken(request: FastifyRequest, expected: string | undefined): void {
  if (!expected) {
    throw new PrismError(
      'NOT_CONFIGURED',
      'the Alertmanager webhook is not configured: set ALERTMANAGER_WEBHOOK_TOKEN',
    );
  }
  const given = Buffer.from(apiKeyOf(request) ?? '');
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new PrismError(
      'UNAUTHENTICATED',
      'the webhook needs `Authorization: Bearer <ALERTMANAGER_WEBHOOK_TOKEN>`',
    );
  }
}

export function alertRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const store = createAlertStore(deps.redis);
  // One fingerprint, one partition: its events are handled in order.
  const publish = (events: AlertEvent[]) =>
    deps.publisher.publish(Topic.MonitoringAlerts, events.map(alertEnvelope), {
      key: events[0]?.fingerprint,
    });

  defineRoute(app, {
    method: 'POST',
    url: '/alerts/alertmanager',
    permission: null,
    tags: ['alerts'],
    summary: "Alertmanager's webhook",
    description:
      'Takes an Alertmanager notification (webhook version 4) and publishes each of its alerts on ' +
      '`agent.monitoring.alerts` (envelope type `alert`, fingerprint `prometheus.<fingerprint>`). ' +
      'Authenticated by `Authorization: Bearer <ALERTMANAGER_WEBHOOK_TOKEN>`, not an API key.',
    body: alertmanagerWebhookSchema,
    responses: {
      202: { description: 'Published', schema: webhookAcceptedSchema },
      401: { description: 'Missing or wrong token', schema: errorSchema },
      503: { description: 'No token configured', schema: errorSchema },
    },
    handler: async (request, reply) => {
      checkWebhookToken(request, deps.env.ALERTMANAGER_WEBHOOK_TOKEN);
      const events = fromAlertmanager(request.body);
      for (const event of events) await publish([event]);
      return reply.code(202).send({ accepted: events.length });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/alerts',
    permission: 'alerts:read',
    tags: ['alerts'],
    summary: 'The alerts: firing ones by default',
    query: listAlertsQuery,
    responses: { 200: { description: 'Most recently changed first', schema: alertListSchema } },
    handler: async (request) => {
      const { status } = request.query;
      return { alerts: await store.list(status === 'all' ? {} : { status }) };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/alerts/:fingerprint/ack',
    permission: 'alerts:manage',
    tags: ['alerts'],
    summary: 'Acknowledge a firing alert',
    description:
      'It is not raised again unless its severity rises or it fires anew after resolving, and it is not ' +
      'escalated.',
    params: fingerprintParams,
    responses: {
      200: { description: 'The alert, acknowledged', schema: alertSchema },
      404: { description: 'No such alert', schema: errorSchema },
      409: { description: 'The alert is resolved', schema: errorSchema },
    },
    handler: (request) => store.acknowledge(request.params.fingerprint, principalOf(request).username),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/alerts/:fingerprint/resolve',
    permission: 'alerts:manage',
    tags: ['alerts'],
    summary: 'Resolve a firing alert by hand',
    description:
      'Publishes its resolution on `agent.monitoring.alerts`, through the alert handler like any other: the ' +
      'Redis alert queue gets a `resolved` entry. If its condition still holds, its source raises it again.',
    params: fingerprintParams,
    body: resolveAlertBody,
    responses: {
      202: { description: 'Resolution published', schema: alertSchema },
      404: { description: 'No such alert', schema: errorSchema },
      409: { description: 'The alert is resolved already', schema: errorSchema },
    },
    handler: async (request, reply) => {
      const { fingerprint } = request.params;
      const alert = await store.get(fingerprint);
      if (!alert) throw new AlertNotFoundError(fingerprint);
      if (alert.status !== 'FIRING') throw new AlertNotFiringError(fingerprint, 'resolved');
      await publish([manualResolution(alert, principalOf(request).username, request.body.reason)]);
      return reply.code(202).send(alert);
    },
  });
}
