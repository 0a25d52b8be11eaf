// Forecasting the next values of a sensor series: a least-squares linear trend over time, or Holt's double
// exponential smoothing (level + trend). Pure functions; times are epoch milliseconds.
import { median } from './anomaly.ts';

export interface FitError {
  /** Root mean square of the in-sample errors. */
  rmse: number;
  /** Mean absolute in-sample error. */
  mae: number;
  /** How many errors they are computed from. */
  n: number;
}

export interface ForecastPoint {
  timeMs: number;
  value: number;
}

export function fitError(errors: readonly number[]): FitError {
  const n = errors.length;
  if (n === 0) return { rmse: 0, mae: 0, n: 0 };
  return {
    rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / n),
    mae: errors.reduce((s, e) => s + Math.abs(e), 0) / n,
    n,
  };
}

/** The median gap between consecutive times: the step of the forecast. */
export function medianStepMs(timesMs: readonly number[]): number {
  if (timesMs.length < 2) throw new Error('a step needs at least two times');
  const step = median(timesMs.slice(1).map((t, i) => t - timesMs[i]!));
  if (!(step > 0)) throw new Error('the readings have no time between them: cannot forecast');
  return step;
}

/** Ordinary least squares: y = intercept + slope × x. */
export function linearTrend(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number } {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('a trend needs at least two (x, y) pairs');
  const n = xs.length;
  const meanX = xs.reduce((s, x) => s + x, 0) / n;
  const meanY = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
    sxx += (xs[i]! - meanX) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

export interface LinearForecast {
  forecast: ForecastPoint[];
  fit: FitError;
  /** Change of the value per second. */
  slopePerSecond: number;
  /** The fitted value at the first reading. */
  intercept: number;
}

/** Fits a line to the series and extends it `horizon` steps of `stepMs` past the last reading. */
export function linearForecast(
  timesMs: readonly number[],
  values: readonly number[],
  horizon: number,
  stepMs: number,
): LinearForecast {
  const t0 = timesMs[0]!;
  const xs = timesMs.map((t) => (t - t0) / 1000);
  const { slope, intercept } = linearTrend(xs, values);
  const residuals = values.map((y, i) => y - (intercept + slope * xs[i]!));
  const last = timesMs[timesMs.length - 1]!;
  const forecast = Array.from({ length: horizon }, (_, k) => {
    const timeMs = last + (k + 1) * stepMs;
    return { timeMs, value: intercept + slope * ((timeMs - t0) / 1000) };
  });
  return { forecast, fit: fitError(residuals), slopePerSecond: slope, intercept };
}

export interface HoltForecast {
  /** The next `horizon` values, one step apart. */
  values: number[];
  /** From the one-step-ahead errors over the series. */
  fit: FitError;
  level: number;
  /** Change per step. */
  trend: number;
}

/**
 * Holt's linear method: level ℓ and trend b, smoothed with alpha and beta. It assumes evenly spaced readings
 * (the forecast step is their median gap).
 */
export function holtForecast(
  values: readonly number[],
  alpha: number,
  beta: number,
  horizon: number,
): HoltForecast {
  if (values.length < 2) throw new Error("Holt's method needs at least two values");
  for (const [name, v] of [
    ['alpha', alpha],
    ['beta', beta],
  ] as const) {
    if (!(v > 0 && v <= 1)) throw new Error(`${name} must be in (0, 1], got ${v}`);
  }
  let level = values[0]!;
  let trend = values[1]! - values[0]!;
  const errors: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const predicted = level + trend;
    errors.push(values[i]! - predicted);
    const previous = level;
    level = alpha * values[i]! + (1 - alpha) * (level + trend);
    trend = beta * (level - previous) + (1 - beta) * trend;
  }
  return {
    values: Array.from({ length: horizon }, (_, k) => level + (k + 1) * trend),
    fit: fitError(errors),
    level,
    trend,
  };
}
