// Kafka's replication in both topologies: the cluster topology's broker configuration (three KRaft voters,
// RF 3, min ISR 2) next to the single node's (unchanged), what provisioning asks of each topic, and the role
// a node reports from its metrics.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Env } from '../../../src/config.ts';
import {
  kafkaQuorumVoters,
  kafkaReplication,
  kafkaRoleFromMetrics,
  kafkaServerProperties,
  sharedKafkaClusterId,
} from '../../../src/stack/services/kafka.ts';
import { machineEnv, type Machine } from '../../../src/stack/topology.ts';
import {
  replicationOf,
  underReplicatedMessage,
  wantedTopicConfig,
} from '../../../src/stores/kafka/provision.ts';

const env = {
  PRISM_BIND_ADDRESS: '127.0.0.1',
  KAFKA_PORT: 19092,
  KAFKA_TLS_PORT: 19095,
  KAFKA_CONTROLLER_PORT: 19093,
  TEMPORAL_PORT: 7233,
  KAFKA_ADMIN_PASSWORD: 'admin-secret',
} as unknown as Env;

const machines: Machine[] = ['127.0.1.1', '127.0.1.2', '127.0.1.3'].map((address, i) => ({
  index: i + 1,
  address,
}));

/** server.properties as a map (the last value of a repeated key wins, as in Java's Properties). */
function props(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe("the cluster topology's brokers", () => {
  // The node's machine and the cluster's list are separate objects in the stack (src/stack/native.ts context).
  const node2 = props(
    kafkaServerProperties(machineEnv(env, machines[1]!), '/data/kafka-2', {
      machine: { ...machines[1]! },
      machines,
    }),
  );

  it('are voters of one quorum over the three machines, node.id = the machine', () => {
    expect(node2.get('node.id')).toBe('2');
    expect(node2.get('process.roles')).toBe('broker,controller');
    expect(node2.get('controller.quorum.voters')).toBe(
      '1@127.0.1.1:19093,2@127.0.1.2:19093,3@127.0.1.3:19093',
    );
    expect(kafkaQuorumVoters(machines.slice(0, 1), 9093)).toBe('1@127.0.1.1:9093');
  });

  it('listen and advertise on their own machine only, on the single node’s ports', () => {
    expect(node2.get('listeners')).toBe(
      'BROKER://127.0.1.2:19092,BROKER_TLS://127.0.1.2:19095,CONTROLLER://127.0.1.2:19093',
    );
    expect(node2.get('advertised.listeners')).toBe('BROKER://127.0.1.2:19092,BROKER_TLS://127.0.1.2:19095');
    expect(node2.get('log.dirs')).toBe('/data/kafka-2/logs');
    expect(node2.get('authorizer.class.name')).toMatch(/StandardAuthorizer/);
  });

  it('keep three copies, acknowledge at two, and never elect a replica that missed writes', () => {
    expect(Object.fromEntries([...node2].filter(([k]) => /replication|isr|insync|unclean/.test(k)))).toEqual({
      'default.replication.factor': '3',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'min.insync.replicas': '2',
      'unclean.leader.election.enable': 'false',
    });
  });

  it('leave the single node as it was: one copy, its own quorum, no cluster settings', () => {
    const single = props(kafkaServerProperties(env, '/data/kafka'));
    expect(single.get('node.id')).toBe('1');
    expect(single.get('controller.quorum.voters')).toBe('1@127.0.0.1:19093');
    expect(single.get('default.replication.factor')).toBe('1');
    expect(single.get('offsets.topic.replication.factor')).toBe('1');
    expect(single.get('transaction.state.log.min.isr')).toBe('1');
    for (const key of ['min.insync.replicas', 'unclean.leader.election.enable', 'broker.session.timeout.ms'])
      expect(single.has(key), key).toBe(false);
  });

  it('make a fourth machine a broker only, leaving the quorum and the other nodes as they were', () => {
    const four = [...machines, { index: 4, address: '127.0.1.4' }];
    const node4 = props(
      kafkaServerProperties(machineEnv(env, four[3]!), '/data/kafka-4', {
        machine: four[3]!,
        machines: four,
      }),
    );
    expect(node4.get('process.roles')).toBe('broker');
    expect(node4.get('node.id')).toBe('4');
    expect(node4.get('controller.quorum.voters')).toBe(node2.get('controller.quorum.voters'));
    expect(node4.get('listeners')).toBe('BROKER://127.0.1.4:19092,BROKER_TLS://127.0.1.4:19095');
    expect(
      kafkaServerProperties(machineEnv(env, four[1]!), '/data/kafka-2', {
        machine: four[1]!,
        machines: four,
      }),
    ).toBe(
      kafkaServerProperties(machineEnv(env, machines[1]!), '/data/kafka-2', {
        machine: machines[1]!,
        machines,
      }),
    );
  });

  it('replicate by the number of brokers', () => {
    expect(kafkaReplication(1)).toEqual({ factor: 1, minInsync: 1 });
    expect(kafkaReplication(3)).toEqual({ factor: 3, minInsync: 2 });
    expect(kafkaReplication(5)).toEqual({ factor: 3, minInsync: 2 });
  });
});

describe('the shared cluster id', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('is made once and then read by every node', () => {
    const data = mkdtempSync(join(tmpdir(), 'kafka-id-'));
    dirs.push(data);
    const first = sharedKafkaClusterId({ data });
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(sharedKafkaClusterId({ data })).toBe(first);
    expect(readFileSync(join(data, 'kafka-cluster-id'), 'utf8').trim()).toBe(first);
  });

  it('refuses a file that holds no cluster id', () => {
    const data = mkdtempSync(join(tmpdir(), 'kafka-id-'));
    dirs.push(data);
    writeFileSync(join(data, 'kafka-cluster-id'), 'not an id\n');
    expect(() => sharedKafkaClusterId({ data })).toThrow(/does not hold a KRaft cluster id/);
  });
});

describe('topic replication that provisioning asks for', () => {
  it('follows KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS, 1 and 1 when unset', () => {
    expect(replicationOf({ KAFKA_BROKERS: 'a:1', KAFKA_CLIENT_ID: 'x' })).toEqual({
      factor: 1,
      minInsync: 1,
    });
    expect(
      replicationOf({
        KAFKA_BROKERS: 'a:1',
        KAFKA_CLIENT_ID: 'x',
        KAFKA_REPLICATION_FACTOR: 3,
        KAFKA_MIN_INSYNC_REPLICAS: 2,
      }),
    ).toEqual({ factor: 3, minInsync: 2 });
  });

  it('refuses a min.insync.replicas no write could meet, naming the variables', () => {
    expect(() =>
      replicationOf({
        KAFKA_BROKERS: 'a:1',
        KAFKA_CLIENT_ID: 'x',
        KAFKA_REPLICATION_FACTOR: 1,
        KAFKA_MIN_INSYNC_REPLICAS: 2,
      }),
    ).toThrow(/KAFKA_MIN_INSYNC_REPLICAS \(2\) is more than KAFKA_REPLICATION_FACTOR \(1\)/);
  });

  it('sets min.insync.replicas on a topic only where it has the replicas for it', () => {
    const spec = { config: { 'retention.ms': '1000' } };
    expect(wantedTopicConfig(spec, { factor: 1, minInsync: 1 })).toEqual({ 'retention.ms': '1000' });
    expect(wantedTopicConfig(spec, { factor: 3, minInsync: 2 })).toEqual({
      'retention.ms': '1000',
      'min.insync.replicas': '2',
    });
    expect(wantedTopicConfig(spec, { factor: 3, minInsync: 2 }, 1)).toEqual({ 'retention.ms': '1000' });
  });

  it('says what an under-replicated topic costs and how to fix it', () => {
    const thin = { topic: 'user.queries', replicationFactor: 1, wanted: 3 };
    expect(underReplicatedMessage(thin, 2)).toMatch(
      /user\.queries has 1 replica per partition, KAFKA_REPLICATION_FACTOR asks for 3.*kafka-reassign-partitions.*refuses every acks=all write/,
    );
    expect(underReplicatedMessage({ ...thin, replicationFactor: 2 }, 2)).not.toMatch(/refuses/);
  });
});

describe("a node's role", () => {
  const metrics = (active: number, leaders: number, hosted: number, under = 0) =>
    [
      '# TYPE kafka_controller_kafkacontroller_activecontrollercount gauge',
      `kafka_controller_kafkacontroller_activecontrollercount ${active}.0`,
      `kafka_server_replicamanager_leadercount ${leaders}.0`,
      `kafka_server_replicamanager_partitioncount ${hosted}.0`,
      `kafka_server_replicamanager_underreplicatedpartitions ${under}.0`,
      'jvm_threads_current 80.0',
    ].join('\n');

  it('is the quorum leader or a voter, with the partitions it leads', () => {
    expect(kafkaRoleFromMetrics(metrics(1, 14, 42))).toBe('controller leader, leads 14 of 42 partitions');
    expect(kafkaRoleFromMetrics(metrics(0, 0, 42, 5))).toBe(
      'voter, leads 0 of 42 partitions, 5 under-replicated',
    );
  });

  it('is unknown while the broker has not published its metrics', () => {
    expect(kafkaRoleFromMetrics('jvm_threads_current 80.0\n')).toBeNull();
  });
});
