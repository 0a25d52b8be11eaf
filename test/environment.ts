// The tests' own deployment on the shared services. A system started by `prism up` (or `deploy.sh`) may be
// running on the same services while the tests run; neither may take the other's work or touch its data.
// So the tests use a Temporal namespace, Kafka topics and consumer groups, a PostgreSQL database, a Redis
// database, an InfluxDB database, Weaviate collections and ports of their own. `prism provision` and
// `prism migrate` create them on first use. Set for the test processes (vitest.config.ts) and, before
// anything else, for the global setup; child processes the tests start inherit them.
export const testEnvironment = {
  TEMPORAL_NAMESPACE: 'prism-test',
  KAFKA_TOPIC_PREFIX: 'test.',
  POSTGRES_DB: 'prism_test',
  REDIS_DB: '1',
  INFLUX_BUCKET: 'prism_test',
  WEAVIATE_COLLECTION_PREFIX: 'PrismTest_',
  API_PORT: '13300',
  WORKER_METRICS_PORT: '19464',
  MAINTENANCE_METRICS_PORT: '19465',
  // Queues of their own too (the namespace already keeps them apart from a running system's).
  TEMPORAL_TASK_QUEUE: 'prism-test-tasks',
  TEMPORAL_MAINTENANCE_TASK_QUEUE: 'prism-test-maintenance',
  AGENT_METRICS_PORT: '19470',
  // The product's schedules exist in the tests' namespace too, paused: a test triggers what it needs.
  PRISM_SCHEDULES: 'paused',
  // A critical alert nobody acknowledges is escalated after 3 s here (15 min by default).
  ALERT_ESCALATION_MINUTES: '0.05',
} as const satisfies Record<string, string>;

/** Puts the tests' deployment into this process's environment (over any .env or exported value). */
export function useTestEnvironment(): void {
  Object.assign(process.env, testEnvironment);
}
