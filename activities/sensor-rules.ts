// The sensor-rule scan's work: every active sensor rule against each machine's readings of the window that
// ends at the scan — a violation recorded in PostgreSQL (once per rule, machine and window), announced on
// `constraints.violations`, and raised as an alert on `agent.monitoring.alerts` (the alert handler keeps
// it); a rule that holds again resolves its alert. Idempotent: every id derives from the rule, the machine
// and the window.
import { flux } from '@influxdata/influxdb-client';
import { alertEnvelope, alertEventSchema } from '../src/alerts/event.ts';
import { createAlertStore } from '../src/alerts/store.ts';
import { createInflux, influxOrg } from '../src/clients/influx.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { Topic } from '../src/stores/kafka/topics.ts';
import { activeConstraints, recordViolation } from '../src/stores/postgres/constraints.ts';
import { aggregateFor, satisfies, sensorRuleOf, type SensorRule } from '../src/constraints/rule.ts';
import { uuidFrom } from '../src/task/ids.ts';
import type { ActivityDeps } from './deps.ts';

export interface SensorViolation {
  violationId: string;
  constraintId: string;
  constraint: string;
  machine: string;
  sensorType: string;
  expected: string;
  actual: number;
  severity: 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
  /** A MONITORING task should look into it (a CRITICAL violation of a rule that asks for one). */
  openTask: boolean;
}

export interface ScanResult {
  windowEnd: string;
  rules: number;
  violations: SensorViolation[];
  resolved: string[];
  /** Where the tasks it opens go: the deployment's task queue (the scan itself runs on the maintenance queue). */
  taskQueue: string;
}

const alertName = 'SensorRuleViolated';
export const sensorRuleFingerprint = (constraintId: string, machine: string) =>
  `sensor-rule.${constraintId}.${machine}`.replace(/[^A-Za-z0-9._-]/g, '_');

export function sensorRuleActivities({ prisma, publisher, redis, env }: ActivityDeps) {
  const queryApi = createInflux(env).getQueryApi(influxOrg);
  const alerts = createAlertStore(redis);

  /** The window's extreme reading of the rule's sensor, per machine. */
  async function extremes(rule: SensorRule, windowEnd: Date): Promise<Map<string, number>> {
    const start = new Date(windowEnd.getTime() - rule.windowSeconds * 1000);
    const machineFilter = rule.machine ? flux`and r.machine == ${rule.machine}` : flux``;
    const aggregate = aggregateFor(rule) === 'max' ? flux`max()` : flux`min()`;
    const rows = await queryApi.collectRows<{ machine: string; _value: number }>(flux`
      from(bucket: ${env.INFLUX_BUCKET})
        |> range(start: ${start}, stop: ${windowEnd})
        |> filter(fn: (r) => r._measurement == "sensor_reading" and r._field == "value" and r.sensor_type == ${rule.sensorType} ${machineFilter})
        |> group(columns: ["machine"])
        |> ${aggregate}`);
    return new Map(rows.map((r) => [r.machine, r._value]));
  }

  return {
    async scanSensorRules(input: { windowEnd: string }): Promise<ScanResult> {
      const windowEnd = new Date(input.windowEnd);
      const constraints = await activeConstraints(prisma);
      const rules = constraints.flatMap((c) => {
        const rule = sensorRuleOf(c.rule);
        return rule ? [{ constraint: c, rule }] : [];
      });
      const violations: SensorViolation[] = [];
      const resolved: string[] = [];
      for (const { constraint, rule } of rules) {
        const expected = `${rule.sensorType} ${rule.operator} ${rule.value}`;
        for (const [machine, actual] of await extremes(rule, windowEnd)) {
          const fingerprint = sensorRuleFingerprint(constraint.id, machine);
          if (satisfies(rule, actual)) {
            const firing = await alerts.get(fingerprint);
            if (firing?.status === 'FIRING') {
              const event = alertEventSchema.parse({
                fingerprint,
                name: alertName,
                status: 'RESOLVED',
                severity: firing.severity,
                source: 'sensor-rules',
                message: `${constraint.name}: ${machine} keeps to ${expected} again (${aggregateFor(rule)} ${actual})`,
                labels: firing.labels,
                startsAt: firing.startsAt,
                endsAt: windowEnd.toISOString(),
              });
              await publisher.publish(Topic.MonitoringAlerts, alertEnvelope(event), { key: fingerprint });
              resolved.push(fingerprint);
            }
            continue;
          }
          const violationId = uuidFrom(
            `sensor-violation:${constraint.id}:${machine}:${windowEnd.toISOString()}`,
          );
          const violation: SensorViolation = {
            violationId,
            constraintId: constraint.id,
            constraint: constraint.name,
            machine,
            sensorType: rule.sensorType,
            expected,
            actual,
            severity: constraint.severity,
            openTask: rule.openTask && constraint.severity === 'CRITICAL',
          };
          await recordViolation(prisma, violationId, {
            constraintId: constraint.id,
            constraintType: constraint.constraintType,
            name: constraint.name,
            expectedValue: expected,
            actualValue: String(actual),
            severity: constraint.severity,
            isBlocking: constraint.isBlocking,
            detectedAt: windowEnd,
          });
          await publisher.publish(
            Topic.ConstraintsViolations,
            createEnvelope({
              id: violationId,
              type: 'constraint.violation',
              payload: {
                ...violation,
                windowEnd: windowEnd.toISOString(),
                windowSeconds: rule.windowSeconds,
              },
            }),
            { key: fingerprint },
          );
          const event = alertEventSchema.parse({
            fingerprint,
            name: alertName,
            status: 'FIRING',
            severity: constraint.severity,
            source: 'sensor-rules',
            message: `${constraint.name}: ${machine} broke ${expected} (${aggregateFor(rule)} ${actual} in the last ${rule.windowSeconds} s)`,
            labels: { machine, sensorType: rule.sensorType, constraint: constraint.name },
            startsAt: windowEnd.toISOString(),
            details: { violationId, constraintId: constraint.id, actual, expected },
          });
          await publisher.publish(Topic.MonitoringAlerts, alertEnvelope(event), { key: fingerprint });
          violations.push(violation);
        }
      }
      return {
        windowEnd: windowEnd.toISOString(),
        rules: rules.length,
        violations,
        resolved,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
      };
    },
  };
}
