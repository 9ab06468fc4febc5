/**
 * Hodges–Lehmann estimate of the shift between two samples and its distribution-free confidence
 * interval (Hollander & Wolfe, "Nonparametric Statistical Methods", ch. 4.3; Bauer 1972).
 *
 * With x of size m and y of size n, the m·n differences d = y_j − x_i are sorted; the estimate is
 * their median. The interval at level 1 − α is [d_(k), d_(mn−k+1)] (1-based order statistics),
 * where k is the largest integer with P(U ≤ k − 1) ≤ α/2 under the exact null distribution of the
 * Mann–Whitney U. For m·n above EXACT_MAX_PRODUCT, k comes from the normal approximation with
 * continuity correction: k = ⌊mn/2 + 1/2 − z_{1−α/2}·√(mn(m+n+1)/12)⌋ (no tie correction).
 * If no k ≥ 1 qualifies (samples too small for the level, e.g. 4 against 4 at 99 %), the interval
 * is (−∞, +∞) with achieved level 1. The achieved level 1 − 2·P(U ≤ k − 1) is reported: because U
 * is discrete it is at least the requested level.
 */
import { normalCdf, normalQuantile } from "./distributions.js";
import { EXACT_MAX_PRODUCT, exactUCdfTable, type MwuMethod } from "./mann-whitney.js";

export interface ShiftInterval {
  /** median of all y_j − x_i */
  estimate: number;
  lower: number;
  upper: number;
  /** the achieved confidence level (≥ the requested one) */
  confidence: number;
  /** the order-statistic index used for the lower end (0: unbounded interval) */
  k: number;
  method: MwuMethod;
}

/** Median of a sorted array. */
function sortedMedian(sorted: ArrayLike<number>): number {
  const len = sorted.length;
  const mid = len >> 1;
  return len % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The k of the interval and its achieved level, from the exact U distribution or its normal approximation. */
export function intervalRank(
  m: number,
  n: number,
  confidence: number,
): { k: number; confidence: number; method: MwuMethod } {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const half = (1 - confidence) / 2;
  const mn = m * n;
  if (mn <= EXACT_MAX_PRODUCT) {
    const cdf = exactUCdfTable(m, n);
    // P(U ≤ k−1) ≤ α/2; with a small tolerance so that a level hit exactly in theory is not lost to rounding.
    let k = 0;
    while (k < mn && cdf[k]! <= half * (1 + 1e-12)) k++;
    const tail = k === 0 ? 0 : cdf[k - 1]!;
    return { k, confidence: 1 - 2 * tail, method: "exact" };
  }
  const sd = Math.sqrt((mn * (m + n + 1)) / 12);
  const z = normalQuantile(1 - half);
  const k = Math.max(0, Math.floor(mn / 2 + 0.5 - z * sd));
  const tail = k === 0 ? 0 : normalCdf((k - 1 + 0.5 - mn / 2) / sd);
  return { k, confidence: 1 - 2 * tail, method: "asymptotic" };
}

/** Hodges–Lehmann shift of y relative to x (y − x) with its confidence interval (see the module comment). */
export function hodgesLehmannShift(
  x: readonly number[],
  y: readonly number[],
  confidence = 0.95,
): ShiftInterval {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError("Hodges–Lehmann needs at least one value on each side");
  if ([...x, ...y].some((v) => !Number.isFinite(v))) throw new RangeError("Hodges–Lehmann: non-finite value");
  const diffs = new Float64Array(m * n);
  let t = 0;
  for (const xi of x) for (const yj of y) diffs[t++] = yj - xi;
  diffs.sort();
  const { k, confidence: achieved, method } = intervalRank(m, n, confidence);
  const mn = m * n;
  const lower = k === 0 ? Number.NEGATIVE_INFINITY : diffs[k - 1]!;
  const upper = k === 0 ? Number.POSITIVE_INFINITY : diffs[mn - k]!;
  return { estimate: sortedMedian(diffs), lower, upper, confidence: achieved, k, method };
}
