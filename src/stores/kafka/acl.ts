// What each component may do on Kafka (the stack's brokers authorize every request: src/stack/kafka-users.ts).
// `prism provision` grants these ACLs for its deployment's topics and groups (KAFKA_TOPIC_PREFIX), in both
// stacks, as the admin; nothing else is allowed to the component users. docs/security.md has the table.
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Admin, type AclEntry } from 'kafkajs';
import type { KafkaUser } from '../../identity.ts';
import { CommandsTopic, deadLetterTopic, Topic, topicSpecs, type TopicName } from './topics.ts';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

// What each component does with which topic: the least it needs (src/worker, src/api, src/agents).
type Access = { read: TopicName[]; write: TopicName[] };
const T = Topic;
// Each agent type's own commands topic: the worker sends on it, the agents read it (src/agents/kafka-transport.ts).
const typedCommands = Object.values(CommandsTopic);
export const kafkaAccess: Record<Exclude<KafkaUser, 'admin'>, Access & { groups: string }> = {
  // The orchestrator: reads agents' answers, user queries and alerts; sends commands, alerts (sensor rules,
  // backups), violations and its logs. The task worker and the maintenance worker both log in as it.
  worker: {
    read: [T.OrchestrationResponses, T.UserQueries, T.MonitoringAlerts],
    write: [
      T.OrchestrationCommands,
      ...typedCommands,
      T.MonitoringAlerts,
      T.ConstraintsViolations,
      T.SystemLogs,
      T.SystemMetrics,
      T.PredictionRequests,
      T.ControlActions,
    ],
    // prism-bridge, prism-ingress, prism-alert-handler (and nothing of the agents').
    groups: 'worker',
  },
  // The HTTP API: takes queries, feedback, knowledge and Alertmanager's alerts in; reads nothing, only the
  // offsets that its cluster metrics report.
  api: {
    read: [],
    write: [T.UserQueries, T.UserFeedback, T.KnowledgeUpdates, T.MonitoringAlerts],
    groups: 'describe',
  },
  // Agents: read commands and the streams addressed to them; answer, and publish what their work produces.
  agent: {
    read: [
      T.OrchestrationCommands,
      ...typedCommands,
      T.MonitoringEvents,
      T.PredictionRequests,
      T.PredictionResults,
      T.ControlFeedback,
    ],
    write: [
      T.OrchestrationResponses,
      T.MonitoringEvents,
      T.MonitoringAlerts,
      T.PredictionRequests,
      T.PredictionResults,
      T.ControlActions,
      T.ConstraintsViolations,
      T.SystemMetrics,
      T.SystemLogs,
    ],
    groups: 'agents',
  },
};

/** The worker's consumer groups (src/worker/bridge.ts, ingress.ts, alert-handler.ts). */
export const workerGroups = ['prism-bridge', 'prism-ingress', 'prism-alert-handler'];
/** Agents' consumer groups all start with this (`prism-agents-<type>`). */
export const agentGroupPrefix = 'prism-agents-';

const allow = (
  user: string,
  resourceType: AclEntry['resourceType'],
  resourceName: string,
  operation: AclEntry['operation'],
  resourcePatternType: AclEntry['resourcePatternType'] = ResourcePatternTypes.LITERAL,
): AclEntry => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal: `User:${user}`,
  host: '*',
  operation,
  permissionType: AclPermissionTypes.ALLOW,
});

/** Every ACL of one deployment (its topics and groups carry `prefix`: KAFKA_TOPIC_PREFIX). */
export function kafkaAcls(prefix: string): AclEntry[] {
  const topic = (name: string) => prefix + name;
  const acls: AclEntry[] = [];
  for (const [user, access] of Object.entries(kafkaAccess)) {
    for (const name of access.read) {
      acls.push(allow(user, AclResourceTypes.TOPIC, topic(name), AclOperationTypes.READ));
      // A message it cannot handle goes to the topic's dead-letter topic, which its consumer writes.
      acls.push(allow(user, AclResourceTypes.TOPIC, topic(deadLetterTopic(name)), AclOperationTypes.WRITE));
    }
    for (const name of access.write) {
      acls.push(allow(user, AclResourceTypes.TOPIC, topic(name), AclOperationTypes.WRITE));
    }
    if (access.groups === 'worker') {
      for (const group of workerGroups)
        acls.push(allow(user, AclResourceTypes.GROUP, prefix + group, AclOperationTypes.READ));
    } else if (access.groups === 'agents') {
      acls.push(
        allow(
          user,
          AclResourceTypes.GROUP,
          prefix + agentGroupPrefix,
          AclOperationTypes.READ,
          ResourcePatternTypes.PREFIXED,
        ),
      );
    } else {
      // The API's consumer-lag metrics: the deployment's groups (all `prism-…`) and topics, described.
      acls.push(
        allow(
          user,
          AclResourceTypes.GROUP,
          `${prefix}prism-`,
          AclOperationTypes.DESCRIBE,
          ResourcePatternTypes.PREFIXED,
        ),
      );
      for (const { name } of topicSpecs) {
        acls.push(allow(user, AclResourceTypes.TOPIC, topic(name), AclOperationTypes.DESCRIBE));
        acls.push(
          allow(user, AclResourceTypes.TOPIC, topic(deadLetterTopic(name)), AclOperationTypes.DESCRIBE),
        );
      }
    }
  }
  return acls;
}

const key = (a: {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  principal: string;
  operation: number;
}) => `${a.resourceType}/${a.resourcePatternType}/${a.resourceName}/${a.principal}/${a.operation}`;

/** The keys of the allowing ACLs the broker enforces now. */
async function enforced(admin: Admin): Promise<Set<string>> {
  const { resources } = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ALLOW,
  });
  return new Set(resources.flatMap((r) => r.acls.map((a) => key({ ...r, ...a }))));
}

/**
 * Grants a deployment's ACLs (creating an ACL that exists changes nothing) and waits until the broker
 * enforces them: the controller commits them at once, the broker applies its metadata a moment later, and a
 * component started right after provisioning must not meet an authorization error. Returns how many.
 */
export async function grantKafkaAcls(admin: Admin, prefix: string, timeoutMs = 30_000): Promise<number> {
  const acls = kafkaAcls(prefix);
  await admin.createAcls({ acl: acls });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await enforced(admin);
    const missing = acls.filter((a) => !now.has(key(a)));
    if (missing.length === 0) return acls.length;
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka does not enforce ${missing.length} of the ${acls.length} ACLs granted for "${prefix}" after ` +
          `${timeoutMs} ms (e.g. ${key(missing[0]!)}). Check the broker log (prism stack logs kafka).`,
      );
    }
    await sleep(100);
  }
}

/** Removes a deployment's ACLs (a test's, by its own prefix). */
export async function revokeKafkaAcls(admin: Admin, prefix: string): Promise<void> {
  await admin.deleteAcls({ filters: kafkaAcls(prefix) });
}
