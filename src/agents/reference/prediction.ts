// The reference PREDICTION agent: forecasts the next values of a sensor series read from InfluxDB, with a
// least-squares linear trend or Holt's double exponential smoothing, and reports the in-sample fit error.
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
import { parseParameters } from '../parameters.ts';
import type { AgentContext, AgentDefinition } from '../types.ts';
import { holtForecast, linearForecast, medianStepMs } from './forecast.ts';
import { readSensorSeries, sensorSeriesSchema } from './sensor-parameters.ts';

export const predictionParameters = sensorSeriesSchema.extend({
  since: sensorSeriesSchema.shape.since.unwrap().default('-1h'),
  /** How many future values. */
  horizon: z.number().int().min(1).max(1000).default(5),
  method: z.enum(['linear', 'holt']).default('linear'),
  /** Holt: smoothing of the level and of the trend. */
  alpha: z.number().gt(0).max(1).default(0.5),
  beta: z.number().gt(0).max(1).default(0.3),
});

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export async function predict(command: AgentCommand, ctx: AgentContext): Promise<Record<string, unknown>> {
  const p = parseParameters(command, predictionParameters);
  const readings = await readSensorSeries(ctx, p);
  if (readings.length < 3) {
    throw new Error(
      `a forecast needs at least 3 ${p.sensorType} readings of machine ${p.machine} since ${p.since}, InfluxDB has ` +
        `${readings.length}: check parameters.machine and parameters.sensorType, or widen parameters.since`,
    );
  }
  const times = readings.map((r) => r.time.getTime());
  const values = readings.map((r) => r.value);
  const stepMs = medianStepMs(times);
  const last = times[times.length - 1]!;
  const base = {
    machine: p.machine,
    sensorType: p.sensorType,
    method: p.method,
    readings: readings.length,
    stepMs,
    lastReading: {
      time: readings[readings.length - 1]!.time.toISOString(),
      value: values[values.length - 1]!,
    },
  };
  if (p.method === 'linear') {
    const fit = linearForecast(times, values, p.horizon, stepMs);
    return {
      ...base,
      forecast: fit.forecast.map((f) => ({ time: new Date(f.timeMs).toISOString(), value: round(f.value) })),
      fit: fit.fit,
      model: { slopePerSecond: fit.slopePerSecond, intercept: fit.intercept },
    };
  }
  const holt = holtForecast(values, p.alpha, p.beta, p.horizon);
  return {
    ...base,
    forecast: holt.values.map((value, k) => ({
      time: new Date(last + (k + 1) * stepMs).toISOString(),
      value: round(value),
    })),
    fit: holt.fit,
    model: { level: holt.level, trendPerStep: holt.trend, alpha: p.alpha, beta: p.beta },
  };
}

export const predictionAgent: AgentDefinition = {
  type: 'PREDICTION',
  name: 'Reference prediction agent',
  description:
    "Forecasts a sensor series from InfluxDB (linear trend or Holt's smoothing) with its fit error",
  capabilities: ['influxdb.sensor_reading', 'forecast.linear', 'forecast.holt'],
  handler: predict,
};
