/**
 * The verdict of `iscsi-bench compare` for one metric: is the candidate a regression, an
 * improvement, no change, or inconclusive against the baseline? Pure and deterministic (no
 * resampling). The unit of comparison is a measured repetition; everything is computed on
 * log(value), so changes are ratios and the interval of the change is that of the log ratio.
 *
 * Methods
 * - "rank-test" (at least MIN_RANK_REPS repetitions on both sides): Hodges–Lehmann shift of
 *   log(candidate) − log(baseline) with its exact distribution-free interval (src/report/stats/
 *   hodges-lehmann.ts); two-sided Mann–Whitney U p-value for information.
 * - "within-run" (fewer on either side): per side, the mean of log(rep); its variance is the
 *   within-run variance from each repetition's batches (batchedLogStatistic) plus an assumed
 *   run-to-run noise, because a handful of runs cannot measure it: Var = Σ se_i²/r² + σ_run²/r, with
 *   σ_run = assumedRunNoisePct/100 as a log-scale standard deviation, or the spread between the
 *   side's repetitions when that is larger (2–3 repetitions). Interval: d ± t·√(Var_b + Var_c), t
 *   with Welch–Satterthwaite degrees of freedom (the assumed noise counts as known). With one run a
 *   side at 10 % this interval is about −24 % … +32 %, so it says regression only far beyond any
 *   usual threshold.
 *
 * Multiple metrics: Bonferroni on the confidence level, 1 − alpha/comparisons (family-wise error
 * at most alpha over the metrics compared).
 *
 * Decision (T = thresholdPct; bad side = lower for higher-is-better, higher for lower-is-better):
 * - regression: the point change is beyond T on the bad side AND the whole interval is on the bad
 *   side of 0 (excludes no change);
 * - improvement: the same on the good side;
 * - no change: the whole interval lies within [−T, +T];
 * - otherwise inconclusive, with repsNeeded: the smallest n per side (4 … MAX_REPS_NEEDED) whose
 *   expected interval would be clear, from the per-run log spread σ: t_{2n−2}·σ·√(2/n)/√0.955 (0.955:
 *   efficiency of the rank test against the t test) must fit the room available — |d| to exclude 0
 *   when the point change is beyond T, the distance from d to the nearer threshold otherwise — and
 *   n must be large enough for the exact rank interval to be finite at the corrected level; at
 *   least one more repetition than now.
 */
import { batchedLogStatistic } from "./stats/batch-means.js";
import { normalQuantile, tQuantile } from "./stats/distributions.js";
import { hodgesLehmannShift } from "./stats/hodges-lehmann.js";
import { mannWhitneyU } from "./stats/mann-whitney.js";

export type Direction = "higher-is-better" | "lower-is-better";

export interface SideSamples {
  /** one value per measured repetition: throughput over the repetition's measured time, or a percentile of the repetition's merged histogram */
  reps: number[];
  /** for sides with fewer than 4 repetitions: per repetition, the values of the statistic over contiguous batches of its per-second intervals (same statistic as reps) */
  batches?: number[][];
}

export interface VerdictInput {
  direction: Direction;
  /** the smallest change that matters, in % (e.g. 5) */
  thresholdPct: number;
  baseline: SideSamples;
  candidate: SideSamples;
  /** metrics compared in this family, for the Bonferroni correction */
  comparisons: number;
  /** family-wise error rate, default 0.05 */
  alpha?: number;
  /** assumed run-to-run noise for the within-run method, in % (log-scale sd ×100), default 10 */
  assumedRunNoisePct?: number;
}

export type VerdictKind = "regression" | "improvement" | "no change" | "inconclusive";

export interface Verdict {
  verdict: VerdictKind;
  method: "rank-test" | "within-run";
  /** median of the baseline repetitions */
  baseline: number;
  /** median of the candidate repetitions */
  candidate: number;
  /** point change of the candidate against the baseline, in % */
  changePct: number;
  /** confidence interval of the change, in % (may be infinite when the samples are too small) */
  ciPct: [number, number];
  /** confidence level of ciPct (achieved level for the rank test, ≥ the corrected level) */
  confidence: number;
  /** two-sided Mann–Whitney p-value (uncorrected); null for the within-run method */
  pValue: number | null;
  /** when inconclusive: repetitions per side a clear verdict would likely need; null otherwise */
  repsNeeded: number | null;
  note: string;
}

/** Repetitions per side from which the rank test is used. */
export const MIN_RANK_REPS = 4;
/** Cap on repsNeeded. */
export const MAX_REPS_NEEDED = 100;
/** Asymptotic relative efficiency of the Mann–Whitney test against the t test under normality (3/π). */
const RANK_EFFICIENCY = 3 / Math.PI;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, v) => a + v, 0) / values.length;
}

/** Sum of squared deviations from the mean. */
function sumSquares(values: readonly number[]): number {
  const m = mean(values);
  return values.reduce((a, v) => a + (v - m) ** 2, 0);
}

function validate(input: VerdictInput): void {
  const { thresholdPct, comparisons } = input;
  if (!(thresholdPct > 0 && thresholdPct < 100))
    throw new RangeError(`thresholdPct must be in (0, 100), got ${thresholdPct}`);
  if (!Number.isInteger(comparisons) || comparisons < 1)
    throw new RangeError(`comparisons must be a positive integer, got ${comparisons}`);
  const alpha = input.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const noise = input.assumedRunNoisePct ?? 10;
  if (!(noise >= 0 && Number.isFinite(noise)))
    throw new RangeError(`assumedRunNoisePct must be ≥ 0, got ${noise}`);
  for (const [name, side] of [
    ["baseline", input.baseline],
    ["candidate", input.candidate],
  ] as const) {
    if (side.reps.length === 0) throw new RangeError(`${name}: no repetitions`);
    if (side.reps.some((v) => !(v > 0 && Number.isFinite(v)))) {
      throw new RangeError(`${name}: repetition values must be positive and finite`);
    }
    if (side.batches && side.batches.length !== side.reps.length) {
      throw new RangeError(`${name}: batches must have one entry per repetition`);
    }
  }
}

interface Interval {
  d: number;
  lo: number;
  hi: number;
  confidence: number;
  pValue: number | null;
  /** per-run standard deviation of log(value), for repsNeeded */
  sigma: number;
  note: string;
}

function rankTest(logB: number[], logC: number[], level: number): Interval {
  const hl = hodgesLehmannShift(logB, logC, level);
  const mw = mannWhitneyU(logC, logB, "two-sided");
  const df = logB.length + logC.length - 2;
  const sigma = Math.sqrt((sumSquares(logB) + sumSquares(logC)) / df);
  const interval =
    hl.k === 0
      ? `no finite Hodges–Lehmann interval at ${(level * 100).toFixed(2)} % from so few repetitions`
      : `Hodges–Lehmann ${(hl.confidence * 100).toFixed(1)} % interval (${hl.method})`;
  const note = `rank test on ${logB.length} vs ${logC.length} repetitions: Mann–Whitney U (${mw.method}), ${interval}`;
  return {
    d: hl.estimate,
    lo: hl.lower,
    hi: hl.upper,
    confidence: hl.confidence,
    pValue: mw.pValue,
    sigma,
    note,
  };
}

function withinRun(input: VerdictInput, logB: number[], logC: number[], level: number): Interval {
  const assumed = (input.assumedRunNoisePct ?? 10) / 100;
  const sides = [
    { logs: logB, side: input.baseline },
    { logs: logC, side: input.candidate },
  ];
  // Run-to-run noise: assumed, unless the repetitions we have spread more.
  const spreadDf = sides.reduce((a, s) => a + s.logs.length - 1, 0);
  const observedVar = spreadDf > 0 ? sides.reduce((a, s) => a + sumSquares(s.logs), 0) / spreadDf : 0;
  const observedWins = observedVar > assumed * assumed;
  const runVar = observedWins ? observedVar : assumed * assumed;
  const runDf = observedWins ? spreadDf : Number.POSITIVE_INFINITY;
  let total = 0;
  let dfDenominator = 0;
  let withinSum = 0;
  let runsWithBatches = 0;
  let runs = 0;
  for (const { logs, side } of sides) {
    const r = logs.length;
    for (let i = 0; i < r; i++) {
      runs++;
      const batches = side.batches?.[i];
      if (!batches || batches.length === 0) continue;
      runsWithBatches++;
      const b = batchedLogStatistic(batches);
      const component = (b.se * b.se) / (r * r);
      withinSum += b.se * b.se;
      total += component;
      dfDenominator += b.df > 0 ? (component * component) / b.df : Number.POSITIVE_INFINITY;
    }
    const noiseComponent = runVar / r;
    total += noiseComponent;
    if (Number.isFinite(runDf)) dfDenominator += (noiseComponent * noiseComponent) / runDf;
  }
  const half = (1 - level) / 2;
  let q: number;
  if (!Number.isFinite(total)) q = Number.POSITIVE_INFINITY;
  else if (dfDenominator === 0) q = normalQuantile(1 - half);
  else q = tQuantile(1 - half, (total * total) / dfDenominator);
  const width = Number.isFinite(total) ? q * Math.sqrt(total) : Number.POSITIVE_INFINITY;
  const d = mean(logC) - mean(logB);
  const noiseText = observedWins
    ? `run-to-run noise taken from the repetitions' spread (${(Math.sqrt(observedVar) * 100).toFixed(1)} %, above the assumed ${(assumed * 100).toFixed(0)} %)`
    : `run-to-run noise unknown, assumed ${(assumed * 100).toFixed(0)} %`;
  const batchText =
    runsWithBatches === runs ? "" : `; ${runs - runsWithBatches} of ${runs} runs without per-second batches`;
  const note = `within-run interval on ${logB.length} vs ${logC.length} repetitions: ${noiseText}${batchText}`;
  const sigma = Math.sqrt(runVar + (runs > 0 ? withinSum / runs : 0));
  return { d, lo: d - width, hi: d + width, confidence: level, pValue: null, sigma, note };
}

/** Smallest n per side whose rank test would give a clear verdict (see the module comment). */
function repsNeeded(iv: Interval, upT: number, downT: number, level: number, now: number): number {
  const room = iv.d > upT || iv.d < downT ? Math.abs(iv.d) : Math.min(upT - iv.d, iv.d - downT);
  const half = (1 - level) / 2;
  for (let n = Math.max(MIN_RANK_REPS, now + 1); n <= MAX_REPS_NEEDED; n++) {
    if (1 / binomial(2 * n, n) > half) continue; // the exact interval would still be unbounded
    const width = (tQuantile(1 - half, 2 * n - 2) * iv.sigma * Math.sqrt(2 / n)) / Math.sqrt(RANK_EFFICIENCY);
    if (width < room) return n;
  }
  return MAX_REPS_NEEDED;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function pct(logRatio: number): number {
  return (Math.exp(logRatio) - 1) * 100;
}

/** The verdict for one metric (rules in the module comment). Throws RangeError on invalid input. */
export function judge(input: VerdictInput): Verdict {
  validate(input);
  const alpha = input.alpha ?? 0.05;
  const level = 1 - alpha / input.comparisons;
  const logB = input.baseline.reps.map(Math.log);
  const logC = input.candidate.reps.map(Math.log);
  const rank = logB.length >= MIN_RANK_REPS && logC.length >= MIN_RANK_REPS;
  const iv = rank ? rankTest(logB, logC, level) : withinRun(input, logB, logC, level);
  const upT = Math.log1p(input.thresholdPct / 100);
  const downT = Math.log1p(-input.thresholdPct / 100);
  const higherBetter = input.direction === "higher-is-better";
  const worse = higherBetter ? iv.d < downT && iv.hi < 0 : iv.d > upT && iv.lo > 0;
  const better = higherBetter ? iv.d > upT && iv.lo > 0 : iv.d < downT && iv.hi < 0;
  let verdict: VerdictKind;
  if (worse) verdict = "regression";
  else if (better) verdict = "improvement";
  else if (iv.lo >= downT && iv.hi <= upT) verdict = "no change";
  else verdict = "inconclusive";
  const now = Math.min(logB.length, logC.length);
  const needed = verdict === "inconclusive" ? repsNeeded(iv, upT, downT, level, now) : null;
  let note = iv.note;
  if (input.comparisons > 1) {
    note += `; Bonferroni over ${input.comparisons} metrics (level ${(level * 100).toFixed(2)} %)`;
  }
  if (needed === MAX_REPS_NEEDED)
    note += `; a clear verdict needs about ${MAX_REPS_NEEDED} or more repetitions`;
  return {
    verdict,
    method: rank ? "rank-test" : "within-run",
    baseline: median(input.baseline.reps),
    candidate: median(input.candidate.reps),
    changePct: pct(iv.d),
    ciPct: [pct(iv.lo), pct(iv.hi)],
    confidence: iv.confidence,
    pValue: iv.pValue,
    repsNeeded: needed,
    note,
  };
}
