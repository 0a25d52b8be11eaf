// `prism provision`: everything the stores need besides the PostgreSQL tables (those are `prism migrate`):
// the Temporal namespace and search attributes, Kafka topics, Weaviate collections, the InfluxDB bucket and its retention, and the roles and permissions
// in PostgreSQL. Each part adds what is missing and never deletes data, so running it again changes nothing.
import type { Env } from '../config.ts';
import { connectWeaviate } from '../clients/weaviate.ts';
import { createPrisma } from '../db/prisma.ts';
import type { Progress } from '../progress.ts';
import { provisionInflux } from '../stores/influx/provision.ts';
import { provisionKafka } from '../stores/kafka/provision.ts';
import { provisionAccessControl } from '../stores/postgres/auth.ts';
import { provisionWeaviate } from '../stores/weaviate/provision.ts';
import { provisionTemporal, type TemporalProvisionResult } from '../stores/temporal/provision.ts';
import { provisionSchedules, type ScheduleProvisionResult } from '../stores/temporal/schedules.ts';
import { moveMaintenanceRuns } from '../stores/temporal/maintenance-runs.ts';

export interface ProvisionSummary {
  temporal: TemporalProvisionResult;
  schedules: ScheduleProvisionResult;
  /** Maintenance runs that were still open on the task queue, now on the maintenance queue. */
  maintenanceRuns: { moved: string[] };
  kafka: { created: string[]; updated: string[]; unchanged: string[] };
  weaviate: { created: string[]; updated: string[]; unchanged: string[] };
  influx: { bucket: string; action: string; retention: string };
  accessControl: { roles: number; permissions: number };
}

export async function provisionAll(env: Env, progress: Progress): Promise<ProvisionSummary> {
  const temporal = await progress.track('Temporal namespace', () => provisionTemporal(env, progress));
  const schedules = await progress.track('Temporal schedules', () => provisionSchedules(env, progress));
  const maintenanceRuns = await progress.track('Maintenance runs on their queue', () =>
    moveMaintenanceRuns(env, progress),
  );
  const kafka = await progress.track('Kafka topics', () => provisionKafka(env, progress));
  const weaviateClient = await connectWeaviate(env);
  let weaviate: ProvisionSummary['weaviate'];
  try {
    const report = await progress.track('Weaviate collections', () =>
      provisionWeaviate(weaviateClient, progress, { prefix: env.WEAVIATE_COLLECTION_PREFIX }),
    );
    weaviate = {
      created: report.created,
      updated: report.updated.map((u) => u.collection),
      unchanged: report.unchanged,
    };
  } finally {
    await weaviateClient.close();
  }
  const influx = await progress.track('InfluxDB bucket', () => provisionInflux(env, progress));
  const prisma = createPrisma(env);
  try {
    const accessControl = await progress.track('Roles and permissions', () => provisionAccessControl(prisma));
    return {
      temporal,
      schedules,
      maintenanceRuns,
      kafka,
      weaviate,
      influx: { bucket: influx.bucket, action: influx.action, retention: influx.retention },
      accessControl,
    };
  } finally {
    await prisma.$disconnect();
  }
}
