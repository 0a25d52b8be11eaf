import weaviate, { type WeaviateClient } from 'weaviate-client';
import type { Env } from '../config.ts';
import { refusedCertificate } from './tls.ts';

export type WeaviateEnv = Pick<
  Env,
  'WEAVIATE_HOST' | 'WEAVIATE_HTTP_PORT' | 'WEAVIATE_GRPC_PORT' | 'WEAVIATE_API_KEY'
> &
  Partial<Pick<Env, 'WEAVIATE_TLS'>>;

/** Weaviate's REST base: https with WEAVIATE_TLS. */
export function weaviateRestUrl(
  env: Pick<Env, 'WEAVIATE_HOST' | 'WEAVIATE_HTTP_PORT'> & Partial<Pick<Env, 'WEAVIATE_TLS'>>,
): string {
  return `${env.WEAVIATE_TLS ? 'https' : 'http'}://${env.WEAVIATE_HOST}:${env.WEAVIATE_HTTP_PORT}`;
}

/**
 * Connects the weaviate-client v3 (REST + gRPC; both over TLS with WEAVIATE_TLS, verified against Node's
 * CAs and NODE_EXTRA_CA_CERTS for REST, gRPC's or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH for gRPC: the library
 * takes no CA of its own). Close it with `close()`.
 */
export async function connectWeaviate(env: WeaviateEnv): Promise<WeaviateClient> {
  try {
    return await connect(env);
  } catch (err) {
    // The library keeps only the words of what went wrong ("fetch failed"): when a certificate was refused,
    // say so and how to fix it.
    if (!env.WEAVIATE_TLS) throw err;
    throw (
      (await refusedCertificate(
        'Weaviate',
        { host: env.WEAVIATE_HOST, port: env.WEAVIATE_HTTP_PORT },
        {},
        'give the process the CA that signed it: NODE_EXTRA_CA_CERTS for REST, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH ' +
          'for gRPC (docs/security.md#tls)',
      )) ?? err
    );
  }
}

function connect(env: WeaviateEnv): Promise<WeaviateClient> {
  return weaviate.connectToCustom({
    httpHost: env.WEAVIATE_HOST,
    httpPort: env.WEAVIATE_HTTP_PORT,
    httpSecure: env.WEAVIATE_TLS ?? false,
    grpcHost: env.WEAVIATE_HOST,
    grpcPort: env.WEAVIATE_GRPC_PORT,
    grpcSecure: env.WEAVIATE_TLS ?? false,
    authCredentials: env.WEAVIATE_API_KEY ? new weaviate.ApiKey(env.WEAVIATE_API_KEY) : undefined,
    timeout: { init: 10, query: 30, insert: 60 },
  });
}
