/**
 * Within-run uncertainty from one run's per-second samples, with their autocorrelation taken into
 * account by non-overlapping batch means (Law & Kelton, "Simulation Modeling and Analysis", §9.5;
 * Schmeiser 1982 on using few batches).
 *
 * Batches are contiguous and of near-equal size: with n seconds and B batches the first n mod B
 * batches hold ⌈n/B⌉ seconds, the rest ⌊n/B⌋ (numpy.array_split's split).
 *
 * Batch-count rule (chooseBatchCount): try B = min(10, ⌊n/2⌋) down to min(5, ⌊n/2⌋) (so each
 * batch has at least 2 seconds) and take the first B whose batch means have a lag-1
 * autocorrelation of at most 0.2; if none does, the smallest B tried. Under 4 seconds: no batches. Fewer, longer batches are less correlated, and Schmeiser shows that beyond ~10 batches
 * there is little to gain; 5 keeps 4 degrees of freedom. The standard error of the mean is then
 * sd(batch means)/√B with B − 1 degrees of freedom (Student t).
 *
 * For statistics that are not means (a percentile of each batch's merged histogram, computed by the
 * caller on the same batches), batchedLogStatistic gives the standard error of log(statistic) from
 * the spread of log(statistic) between batches: sd(log v_b)/√B, B − 1 degrees of freedom.
 */

/** Largest and smallest number of batches the rule tries, and its autocorrelation limit. */
export const MAX_BATCHES = 10;
export const MIN_BATCHES = 5;
export const MAX_LAG1 = 0.2;

export interface BatchMeansResult {
  /** mean of the whole series */
  mean: number;
  /** standard error of `mean` from the batch means */
  se: number;
  /** degrees of freedom of `se`: batches − 1 (0 when it cannot be estimated, then se is ∞) */
  df: number;
  batches: number;
  /** lag-1 autocorrelation of the batch means (NaN with fewer than 3 batches) */
  lag1: number;
}

export interface LogStatisticResult {
  /** mean of log(values) */
  logMean: number;
  /** standard error of log(statistic) */
  se: number;
  df: number;
}

/** [start, end) index ranges of `batches` contiguous near-equal batches over a series of `length`. */
export function batchBoundaries(length: number, batches: number): Array<[number, number]> {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad series length ${length}`);
  if (!Number.isInteger(batches) || batches < 1 || batches > Math.max(1, length)) {
    throw new RangeError(`cannot cut ${length} samples into ${batches} batches`);
  }
  const base = Math.floor(length / batches);
  const extra = length % batches;
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let b = 0; b < batches; b++) {
    const end = start + base + (b < extra ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** Means of the contiguous near-equal batches. */
export function batchMeansOf(series: readonly number[], batches: number): number[] {
  return batchBoundaries(series.length, batches).map(([s, e]) => {
    let sum = 0;
    for (let i = s; i < e; i++) sum += series[i]!;
    return sum / (e - s);
  });
}

/** Lag-1 sample autocorrelation Σ(x_t − x̄)(x_{t+1} − x̄) / Σ(x_t − x̄)² (0 for a constant series). */
export function lag1Autocorrelation(values: readonly number[]): number {
  const n = values.length;
  if (n < 3) return Number.NaN;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (let t = 0; t < n; t++) {
    const d = values[t]! - mean;
    den += d * d;
    if (t + 1 < n) num += d * (values[t + 1]! - mean);
  }
  return den === 0 ? 0 : num / den;
}

/** The number of batches for a series, by the rule in the module comment (1 when n < 4: no estimate). */
export function chooseBatchCount(series: readonly number[]): number {
  const n = series.length;
  if (n < 4) return 1;
  const most = Math.min(MAX_BATCHES, Math.floor(n / 2));
  const least = Math.min(MIN_BATCHES, most);
  for (let b = most; b > least; b--) {
    const r = lag1Autocorrelation(batchMeansOf(series, b));
    if (!(r > MAX_LAG1)) return b; // NaN (too few batches to tell) counts as acceptable
  }
  return least;
}

function sampleSd(values: readonly number[]): number {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
}

/** Batch-means standard error of the mean of one run's per-second series. */
export function batchMeans(series: readonly number[], batches = chooseBatchCount(series)): BatchMeansResult {
  const n = series.length;
  if (n === 0) throw new RangeError("batch means of an empty series");
  const mean = series.reduce((s, v) => s + v, 0) / n;
  if (batches < 2) return { mean, se: Number.POSITIVE_INFINITY, df: 0, batches, lag1: Number.NaN };
  const means = batchMeansOf(series, batches);
  return {
    mean,
    se: sampleSd(means) / Math.sqrt(batches),
    df: batches - 1,
    batches,
    lag1: lag1Autocorrelation(means),
  };
}

/** Standard error of log(statistic) from the statistic's values over contiguous batches (all > 0). */
export function batchedLogStatistic(values: readonly number[]): LogStatisticResult {
  if (values.length === 0) throw new RangeError("batched statistic without batches");
  if (values.some((v) => !(v > 0 && Number.isFinite(v)))) {
    throw new RangeError("batched statistic values must be positive and finite");
  }
  const logs = values.map(Math.log);
  const logMean = logs.reduce((s, v) => s + v, 0) / logs.length;
  if (logs.length < 2) return { logMean, se: Number.POSITIVE_INFINITY, df: 0 };
  return { logMean, se: sampleSd(logs) / Math.sqrt(logs.length), df: logs.length - 1 };
}
