// `prism provision --demo`: a small, realistic manufacturing data set for demos and tests — the four agent
// types, machine constraints, process knowledge and an hour of sensor series. Fixed ids: loading it again
// overwrites it in place.
import type { Env } from '../config.ts';
import { connectWeaviate } from '../clients/weaviate.ts';
import { createPrisma } from '../db/prisma.ts';
import { uuidFrom } from '../task/ids.ts';
import type { Progress } from '../progress.ts';
import { sensorReading } from '../stores/influx/points.ts';
import { createInfluxWriter } from '../stores/influx/writer.ts';
import { registerAgent } from '../stores/postgres/agents.ts';
import { ensureConstraint } from '../stores/postgres/constraints.ts';
import { ensureKnowledgeDocument } from '../stores/postgres/knowledge.ts';
import { importObjects } from '../stores/weaviate/import.ts';
import { prismCollection } from '../stores/weaviate/collections.ts';
import type { ExternalKnowledge, ManufacturingKnowledge } from '../stores/weaviate/schema.ts';

export const demoLine = 'line-1';
export const demoMachines = ['cnc-01', 'cnc-02', 'press-01'] as const;

export const demoConstraints = [
  {
    name: 'cnc spindle speed limit',
    constraintType: 'SAFETY',
    agentType: 'CONTROL',
    rule: { parameter: 'spindle_speed_rpm', operator: '<=', value: 12000 },
    severity: 'CRITICAL',
    isBlocking: true,
  },
  {
    name: 'cnc spindle temperature ceiling',
    constraintType: 'SAFETY',
    agentType: null,
    rule: { parameter: 'spindle_temperature_c', operator: '<=', value: 85 },
    severity: 'ERROR',
    isBlocking: true,
  },
  {
    // A sensor rule: the sensor-rule scan checks it against cnc-02's readings every minute (its demo series
    // peaks at 81.4 °C, so it holds until the machine runs hot).
    name: 'cnc-02 spindle temperature limit',
    constraintType: 'SAFETY',
    agentType: 'MONITORING',
    rule: {
      sensorType: 'spindle_temperature_c',
      operator: '<=',
      value: 85,
      windowSeconds: 300,
      machine: 'cnc-02',
    },
    severity: 'CRITICAL',
    isBlocking: false,
  },
  {
    name: 'press force window',
    constraintType: 'RESOURCE',
    agentType: 'CONTROL',
    rule: { parameter: 'press_force_kn', operator: '<=', value: 250 },
    severity: 'WARNING',
    isBlocking: false,
  },
  {
    name: 'feed rate change step',
    constraintType: 'POLICY',
    agentType: 'CONTROL',
    rule: { parameter: 'feed_rate_change_pct', operator: '<=', value: 15 },
    severity: 'WARNING',
    isBlocking: false,
  },
] as const;

const processKnowledge: ManufacturingKnowledge[] = [
  {
    processName: 'CNC milling',
    description:
      'Milling of aluminium housings on 3-axis CNC centres; spindle temperature and vibration are the leading indicators of tool wear.',
    parameters: JSON.stringify({
      spindle_speed_rpm: [6000, 12000],
      feed_rate_mm_min: [800, 2400],
      coolant_pressure_bar: [20, 70],
    }),
    constraints: ['spindle speed at most 12000 rpm', 'spindle temperature at most 85 °C'],
    bestPractices: [
      'warm the spindle up for 10 minutes before precision cuts',
      'replace end mills after 40 hours of cutting',
    ],
    troubleshooting: [
      'rising spindle temperature with normal load: check coolant pressure and the spindle bearings',
      'chatter marks: reduce feed rate or shorten the tool overhang',
    ],
  },
  {
    processName: 'Hydraulic pressing',
    description:
      'Forming of steel brackets on a 300 kN hydraulic press; force and cycle time show die wear and hydraulic leaks.',
    parameters: JSON.stringify({ press_force_kn: [120, 250], cycle_time_s: [8, 14] }),
    constraints: ['press force at most 250 kN'],
    bestPractices: ['check hydraulic oil level every shift', 'lubricate the die every 5000 strokes'],
    troubleshooting: [
      'force drops while cycle time grows: look for a hydraulic leak',
      'cracked parts: check die alignment and material batch',
    ],
  },
  {
    processName: 'Robotic welding',
    description: 'MIG welding of frames by six-axis robots; porosity comes from shielding gas problems.',
    parameters: JSON.stringify({ wire_feed_m_min: [6, 12], gas_flow_l_min: [12, 20] }),
    constraints: ['gas flow at least 12 l/min'],
    bestPractices: ['purge the gas line after cylinder changes'],
    troubleshooting: ['porosity in welds: check shielding gas flow and nozzle spatter'],
  },
];

const documents: ExternalKnowledge[] = [
  {
    title: 'Spindle bearing failure modes',
    content:
      'Overheating spindles usually point to bearing preload loss or poor lubrication. A temperature rise of more than 10 °C within an hour at constant load precedes most bearing failures.',
    documentType: 'MANUAL',
    source: 'maintenance handbook, chapter 4',
    createdAt: new Date('2026-01-15T00:00:00Z'),
    accessCount: 0,
  },
  {
    title: 'Predictive maintenance with vibration trends',
    content:
      'Linear trends in vibration amplitude forecast tool and bearing wear several hours ahead; exponential smoothing handles noisy sensors well.',
    documentType: 'RESEARCH_PAPER',
    source: 'internal study 2025-07',
    createdAt: new Date('2026-02-01T00:00:00Z'),
    accessCount: 0,
  },
  {
    title: 'Safe setpoint changes on production lines',
    content:
      'Change feed rates by at most 15 percent per step and never exceed the spindle speed limit of the machine; blocking safety constraints must stop an automatic change.',
    documentType: 'GUIDELINE',
    source: 'plant safety policy',
    createdAt: new Date('2026-03-10T00:00:00Z'),
    accessCount: 0,
  },
];

/** The Weaviate ids of the demo's process knowledge and documents. */
export const demoKnowledgeIds = {
  ManufacturingKnowledge: processKnowledge.map((p) => uuidFrom(`demo:process:${p.processName}`)),
  ExternalKnowledge: documents.map((d) => uuidFrom(`demo:doc:${d.title}`)),
};

/** A deterministic, plausible sensor value: a daily wave plus a slow drift (cnc-02 runs hot). */
function sensorValue(machine: string, sensor: string, minute: number): number {
  const base =
    sensor === 'spindle_temperature_c'
      ? machine === 'cnc-02'
        ? 74
        : 62
      : sensor === 'vibration_mm_s'
        ? 2.1
        : 180;
  const wave = Math.sin(minute / 9) * (sensor === 'press_force_kn' ? 6 : 1.2);
  const drift = machine === 'cnc-02' && sensor === 'spindle_temperature_c' ? minute * 0.12 : 0;
  return Math.round((base + wave + drift) * 100) / 100;
}

/**
 * The demo sensor series of these machines: one reading per minute for the last hour, on whole minutes, so a
 * reload overwrites the same points. `prism bench` writes its machine's again before it runs, so that its
 * MONITORING and PREDICTION tasks (`since: -1h`) find an hour of readings however long ago the demo was
 * loaded. Returns the number of points written.
 */
export async function writeDemoSensorSeries(
  writer: ReturnType<typeof createInfluxWriter>,
  machines: readonly string[],
): Promise<number> {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  let points = 0;
  for (const machine of machines) {
    const sensors = machine.startsWith('press')
      ? ['press_force_kn']
      : ['spindle_temperature_c', 'vibration_mm_s'];
    for (const sensor of sensors) {
      for (let m = 0; m < 60; m++) {
        writer.write(
          sensorReading({
            line: demoLine,
            machine,
            sensorType: sensor,
            value: sensorValue(machine, sensor, m),
            quality: 'GOOD',
            unit: sensor.endsWith('_c') ? '°C' : sensor.endsWith('_kn') ? 'kN' : 'mm/s',
            time: now - (59 - m) * 60_000,
          }),
        );
        points++;
      }
    }
  }
  await writer.flush();
  return points;
}

export async function loadDemoData(
  env: Env,
  progress: Progress,
): Promise<{ agents: number; documents: number; points: number }> {
  const prisma = createPrisma(env);
  const weaviate = await connectWeaviate(env);
  const writer = createInfluxWriter(env);
  try {
    await progress.track('Demo agents and constraints', async () => {
      for (const type of ['MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS'] as const) {
        await registerAgent(prisma, {
          id: `${type.toLowerCase()}-agent-1`,
          name: `Reference ${type.toLowerCase()} agent`,
          type,
          transport: 'KAFKA',
          capabilities: [`${type.toLowerCase()}.reference`],
          description: 'shipped with PRISM; run it with `prism agent run --type ' + type + '`',
        });
      }
      for (const c of demoConstraints) {
        await ensureConstraint(prisma, { ...c, rule: c.rule as object });
      }
    });
    await progress.track('Demo knowledge', async () => {
      const mk = await importObjects(
        prismCollection(weaviate, 'ManufacturingKnowledge', { prefix: env.WEAVIATE_COLLECTION_PREFIX }),
        processKnowledge.map((p) => ({ id: uuidFrom(`demo:process:${p.processName}`), properties: p })),
      );
      const ek = await importObjects(
        prismCollection(weaviate, 'ExternalKnowledge', { prefix: env.WEAVIATE_COLLECTION_PREFIX }),
        documents.map((d) => ({ id: uuidFrom(`demo:doc:${d.title}`), properties: d })),
      );
      const failures = [...mk.failures, ...ek.failures];
      if (failures.length)
        throw new Error(`demo knowledge import failed: ${failures.map((f) => f.message).join('; ')}`);
      for (const d of documents) {
        const weaviateId = uuidFrom(`demo:doc:${d.title}`);
        await ensureKnowledgeDocument(prisma, {
          weaviateId,
          title: d.title,
          documentType: d.documentType,
          collection: 'ExternalKnowledge',
          source: d.source ?? null,
        });
      }
    });
    const points = await progress.track('Demo sensor series (last hour)', () =>
      writeDemoSensorSeries(writer, demoMachines),
    );
    return { agents: 4, documents: documents.length + processKnowledge.length, points };
  } finally {
    await writer.close();
    await weaviate.close();
    await prisma.$disconnect();
  }
}
