import weaviate, { type WeaviateClient } from 'weaviate-client';
import type { Env } from '../config.ts';

export type WeaviateEnv = Pick<
  Env,
  'WEAVIATE_HOST' | 'WEAVIATE_HTTP_PORT' | 'WEAVIATE_GRPC_PORT' | 'WEAVIATE_API_KEY'
>;

/** Connects the weaviate-client v3 (REST + gRPC). Close it with `close()`. */
export function connectWeaviate(env: WeaviateEnv): Promise<WeaviateClient> {
  return weaviate.connectToCustom({
    httpHost: env.WEAVIATE_HOST,
    httpPort: env.WEAVIATE_HTTP_PORT,
    httpSecure: false,
    grpcHost: env.WEAVIATE_HOST,
    grpcPort: env.WEAVIATE_GRPC_PORT,
    grpcSecure: false,
    authCredentials: env.WEAVIATE_API_KEY ? new weaviate.ApiKey(env.WEAVIATE_API_KEY) : undefined,
    timeout: { init: 10, query: 30, insert: 60 },
  });
}
