// Anomaly detection for a sensor series: the modified z-score of Iglewicz and Hoaglin (median and median
// absolute deviation, robust to the outliers it looks for), plus optional absolute limits. Pure functions.

export interface SeriesStats {
  count: number;
  mean: number;
  median: number;
  stdDev: number;
  /** Median absolute deviation from the median. */
  mad: number;
  min: number;
  max: number;
}

export type AnomalyReason = 'robust-z' | 'above-max' | 'below-min';

export interface Anomaly {
  index: number;
  value: number;
  /** The modified z-score of the value (0 when the series has no spread). */
  score: number;
  reasons: AnomalyReason[];
}

export interface AnomalyOptions {
  /** |modified z| above this is an anomaly; 3.5 is Iglewicz and Hoaglin's recommendation. */
  threshold: number;
  /** Values below this are anomalies whatever their score. */
  min?: number;
  /** Values above this are anomalies whatever their score. */
  max?: number;
  /** The series' median and MAD when the caller has them already (`seriesStats`): saves two sorts. */
  center?: Pick<SeriesStats, 'median' | 'mad'>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty series');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function seriesStats(values: readonly number[]): SeriesStats {
  if (values.length === 0) throw new Error('statistics of an empty series');
  const count = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / count;
  const med = median(values);
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / count;
  return {
    count,
    mean,
    median: med,
    stdDev: Math.sqrt(variance),
    mad: median(values.map((v) => Math.abs(v - med))),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

// 0.6745 is the 0.75 quantile of the standard normal: it makes MAD-based scores comparable to z-scores.
const madScale = 0.6745;
// When more than half the values are equal the MAD is 0; the mean absolute deviation times sqrt(pi/2)
// estimates the standard deviation instead (the fallback used by IBM SPSS and others).
const meanAdScale = 1.253314;

/** The modified z-score of every value (`center`: the series' median and MAD, if known). */
export function robustScores(
  values: readonly number[],
  center?: Pick<SeriesStats, 'median' | 'mad'>,
): number[] {
  if (values.length === 0) return [];
  const med = center?.median ?? median(values);
  const deviations = values.map((v) => v - med);
  const mad = center?.mad ?? median(deviations.map(Math.abs));
  if (mad > 0) return deviations.map((d) => (madScale * d) / mad);
  const meanAd = deviations.reduce((s, d) => s + Math.abs(d), 0) / values.length;
  if (meanAd > 0) return deviations.map((d) => d / (meanAdScale * meanAd));
  return values.map(() => 0);
}

export function detectAnomalies(values: readonly number[], options: AnomalyOptions): Anomaly[] {
  if (!(options.threshold > 0)) throw new Error(`threshold must be positive, got ${options.threshold}`);
  const scores = robustScores(values, options.center);
  const anomalies: Anomaly[] = [];
  values.forEach((value, index) => {
    const score = scores[index]!;
    const reasons: AnomalyReason[] = [];
    if (Math.abs(score) > options.threshold) reasons.push('robust-z');
    if (options.max !== undefined && value > options.max) reasons.push('above-max');
    if (options.min !== undefined && value < options.min) reasons.push('below-min');
    if (reasons.length > 0) anomalies.push({ index, value, score, reasons });
  });
  return anomalies;
}

/** CRITICAL when a limit is crossed or a score is twice the threshold, WARNING otherwise. */
export function alertSeverity(anomalies: readonly Anomaly[], threshold: number): 'WARNING' | 'CRITICAL' {
  const critical = anomalies.some(
    (a) =>
      a.reasons.includes('above-max') ||
      a.reasons.includes('below-min') ||
      Math.abs(a.score) >= 2 * threshold,
  );
  return critical ? 'CRITICAL' : 'WARNING';
}
