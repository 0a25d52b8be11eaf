// Kafka's `range` partition assignment for kafkajs, so that our consumers share a group with other clients.
// A group picks one assignment protocol that every member offers; kafkajs offers only its own
// `RoundRobinAssigner`, which no other client knows, so a Python (librdkafka: `range,roundrobin`), Java
// (`range,cooperative-sticky`) or Go agent joining an agent type's group beside ours failed with
// INCONSISTENT_GROUP_PROTOCOL and never got a command. `range` is in every client's default list. The
// protocol's formats (the subscription and the assignment) are Kafka's own, which kafkajs already encodes.
//
// The algorithm is Kafka's RangeAssignor: for each topic, its partitions in order, split into contiguous
// ranges over the members subscribed to it, sorted by member id (the first `partitions % members` get one
// more). Unlike kafkajs's round robin it gives a member only topics it subscribed to — an agent that reads the
// shared commands topic alone is never handed a type's own topic (docs/kafka.md).
import kafkajs, { type Assigner, type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** The ranges of `partitions` (in order) for each of `members` (in order). */
export function rangeAssignment(members: readonly string[], partitions: readonly number[]): number[][] {
  const per = Math.floor(partitions.length / members.length);
  const extra = partitions.length % members.length;
  return members.map((_, i) => {
    const start = per * i + Math.min(i, extra);
    return partitions.slice(start, start + per + (i < extra ? 1 : 0));
  });
}

export const rangeAssigner: PartitionAssigner = ({ cluster }): Assigner => ({
  name: 'range',
  version: 0,
  async assign({ members, topics }) {
    const subscriptions = new Map(
      members.map((m) => [
        m.memberId,
        AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? [],
      ]),
    );
    // The leader's metadata covers its own topics; another member may have subscribed to more.
    const all = [...new Set([...topics, ...[...subscriptions.values()].flat()])].sort();
    const unknown = all.filter((t) => !topics.includes(t));
    if (unknown.length > 0) await cluster.addMultipleTargetTopics(unknown);

    const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
    for (const topic of all) {
      const subscribed = [...subscriptions].filter(([, ts]) => ts.includes(topic)).map(([id]) => id);
      const partitions = cluster
        .findTopicPartitionMetadata(topic)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b);
      if (subscribed.length === 0 || partitions.length === 0) continue;
      const ranges = rangeAssignment(subscribed.sort(), partitions);
      subscribed.forEach((id, i) => {
        if (ranges[i]!.length > 0) assignment.get(id)![topic] = ranges[i]!;
      });
    }
    return [...assignment].map(([memberId, topicPartitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: topicPartitions,
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'range',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
