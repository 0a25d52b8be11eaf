// The cluster topology (`prism stack up --topology cluster`, docs/scaling.md): every engine that has
// clustering as a cluster of its own kind over the machines of PRISM_CLUSTER_MACHINES, and the services that
// have none (InfluxDB OSS, Prometheus, the Temporal UI, SeaweedFS, Jaeger) once, on the first machine.
import type { Env } from '../config.ts';
import { seaweedfs } from './seaweedfs.ts';
import type { NativeService } from './services.ts';
import { influxdb } from './services/influxdb.ts';
import { jaeger } from './services/jaeger.ts';
import { kafkaNodes } from './services/kafka.ts';
import { etcdNodes } from './services/etcd.ts';
import { postgresClusterNodes } from './services/postgres-cluster.ts';
import { prometheus } from './services/prometheus.ts';
import { redisNodes } from './services/redis.ts';
import { redisSentinelNodes } from './services/redis-sentinel.ts';
import { weaviateNodes } from './services/weaviate.ts';
import { temporalNodes, temporalUi } from './temporal.ts';
import { clusterMachines, nodeOf } from './topology.ts';

export function clusterServices(env: Env): NativeService[] {
  const machines = clusterMachines(env);
  const first = machines[0]!;
  return [
    ...etcdNodes(machines),
    ...postgresClusterNodes(machines),
    ...redisNodes(machines),
    ...redisSentinelNodes(machines),
    ...kafkaNodes(machines),
    ...weaviateNodes(machines),
    nodeOf(influxdb, first, { name: 'influxdb' }),
    nodeOf(prometheus, first, { name: 'prometheus' }),
    ...temporalNodes(machines),
    nodeOf(temporalUi, first, { name: 'temporal-ui' }),
    nodeOf(seaweedfs, first, { name: 'seaweedfs' }),
    // The trace store: one, in memory (its clients default to the first machine's).
    nodeOf(jaeger, first, { name: 'jaeger' }),
  ];
}
