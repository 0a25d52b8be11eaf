// TLS for the clients of Redis and Kafka: Node's defaults (TLS 1.2 or later, the server's certificate and
// name verified), with the CA from a file where one is configured (REDIS_TLS_CA_FILE, KAFKA_TLS_CA_FILE) and the
// system's CAs otherwise. PostgreSQL's clients take libpq's modes instead (src/clients/postgres.ts).
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

export function tlsOptions(caFile: string | undefined): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(caFile ? { ca: readFileSync(caFile) } : {}),
  };
}
