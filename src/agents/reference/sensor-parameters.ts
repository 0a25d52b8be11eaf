// The parameters that MONITORING and PREDICTION share: which sensor series to read from InfluxDB.
import { z } from 'zod';
import { recentSensorReadings } from '../../stores/influx/queries.ts';
import type { AgentContext } from '../types.ts';

// The same rules as the InfluxDB tags and the Flux query helpers, checked here so the error names the parameter.
const tagValue = z.string().regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'use 1 to 64 letters, digits and _ . : / -');
const relativeDuration = z
  .string()
  .regex(/^-(\d+(ns|us|ms|s|mo|m|h|d|w|y))+$/, 'use a negative duration such as -15m, -2h or -7d');

export const sensorSeriesSchema = z.object({
  machine: tagValue,
  sensorType: tagValue.default('temperature'),
  line: tagValue.optional(),
  /** How far back to read. */
  since: relativeDuration.default('-15m'),
  /** At most this many readings (the newest window when there are more). */
  maxReadings: z.number().int().min(3).max(100_000).default(10_000),
});

/** The readings a sensor-series parameter set names, oldest first. */
export function readSensorSeries(ctx: AgentContext, p: z.output<typeof sensorSeriesSchema>) {
  return recentSensorReadings(ctx.influx, {
    machine: p.machine,
    sensorType: p.sensorType,
    line: p.line,
    since: p.since,
    limit: p.maxReadings,
  });
}
