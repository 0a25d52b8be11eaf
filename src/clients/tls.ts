// TLS for the clients of Redis and Kafka: Node's defaults (TLS 1.2 or later, the server's certificate and
// name verified), with the CA from a file where one is configured (REDIS_TLS_CA_FILE, KAFKA_TLS_CA_FILE) and the
// system's CAs otherwise. PostgreSQL's clients take libpq's modes instead (src/clients/postgres.ts).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { certificateProblem } from '../retry.ts';

export function tlsOptions(caFile: string | undefined): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    ...(caFile ? { ca: readFileSync(caFile) } : {}),
  };
}

/**
 * Why a client that failed to connect was refused on the server's certificate, found by a TLS handshake of
 * our own with the same options (client libraries often keep only "fetch failed" or "Failed to connect
 * before the deadline"): an Error that names the service, the reason and the fix, with the handshake's error
 * as its cause; undefined when the certificate is not the problem.
 */
export async function refusedCertificate(
  service: string,
  target: { host: string; port: number },
  options: ConnectionOptions,
  fix: string,
): Promise<Error | undefined> {
  const error = await new Promise<Error | undefined>((resolve) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...(isIP(target.host) ? {} : { servername: target.host }),
      minVersion: 'TLSv1.2',
      ...options,
      timeout: 5_000,
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err) => resolve(err));
  });
  const problem = error && certificateProblem(error);
  if (!problem) return undefined;
  return new Error(
    `${service} at ${target.host}:${target.port}: its certificate was refused (${problem}); ${fix}`,
    { cause: error },
  );
}
