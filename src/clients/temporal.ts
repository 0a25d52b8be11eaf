import { Client, Connection } from '@temporalio/client';
import type { Env } from '../config.ts';

export type TemporalEnv = Pick<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>;

/** A Temporal client. Close its connection with `client.connection.close()`. */
export async function connectTemporal(env: TemporalEnv): Promise<Client> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS, connectTimeout: '5s' });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}
