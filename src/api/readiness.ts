// Readiness: the API can serve only when every store it writes to answers. Each check has a deadline, so
// a hung service makes /readyz fail fast instead of hanging the probe.
import type { Admin } from 'kafkajs';
import { pingPostgres } from '../db/prisma.ts';
import type { ApiDeps } from './deps.ts';

export type Dependency = 'postgres' | 'kafka' | 'temporal' | 'weaviate';

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<Dependency, CheckResult>;
}

// /readyz is public: it says which store failed and how, never where the stores are.
const withoutAddresses = (message: string) =>
  message
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(
      /\[[0-9a-f:.]+\](?::\d+)?|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|(?<![\w:])(?:[0-9a-f]{0,4}:)*::[0-9a-f:]*|\b[a-z][a-z0-9.-]*:\d{2,5}\b/gi,
      '<address>',
    );

async function timed(work: () => Promise<unknown>, timeoutMs: number, what: string): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work(), timeout]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: withoutAddresses((err as Error).message) };
  } finally {
    clearTimeout(timer);
  }
}

export function readinessChecks(deps: ApiDeps, timeoutMs = 3_000) {
  // The deps hand over a connected producer. kafkajs reconnects by itself after a broker failure; its
  // DISCONNECT event means the producer was closed, after which it can send nothing.
  let producerConnected = true;
  const { producer } = deps.publisher;
  producer.on(producer.events.CONNECT, () => void (producerConnected = true));
  producer.on(producer.events.DISCONNECT, () => void (producerConnected = false));
  let admin: Admin | undefined;

  const kafka = async () => {
    if (!producerConnected) throw new Error('the Kafka producer is not connected');
    // One admin connection for all probes; dropped after a failure so the next probe reconnects.
    if (!admin) {
      const fresh = deps.kafka.admin();
      await fresh.connect();
      admin = fresh;
    }
    try {
      const { brokers } = await admin.describeCluster();
      if (brokers.length === 0) throw new Error('the Kafka cluster has no brokers');
    } catch (err) {
      const failed = admin;
      admin = undefined;
      await failed.disconnect().catch(() => undefined);
      throw err;
    }
  };

  const checks: Record<Dependency, () => Promise<unknown>> = {
    postgres: () => pingPostgres(deps.prisma),
    kafka,
    temporal: () =>
      deps.temporal.withDeadline(Date.now() + timeoutMs, () =>
        deps.temporal.workflowService.getSystemInfo({}),
      ),
    weaviate: async () => {
      if (!(await deps.weaviate.isReady())) throw new Error('Weaviate answers but is not ready');
    },
  };

  return {
    async check(): Promise<Readiness> {
      const names = Object.keys(checks) as Dependency[];
      const results = await Promise.all(names.map((name) => timed(checks[name], timeoutMs, name)));
      const all = Object.fromEntries(names.map((name, i) => [name, results[i]!])) as Record<
        Dependency,
        CheckResult
      >;
      return { ready: results.every((r) => r.ok), checks: all };
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
