/**
 * The seeded synthetic study of the compare verdict (the proof the compare issue asks for).
 * Each simulated run has 30 per-second samples following an AR(1) process (phi 0.6, 8 % per-second
 * spread) around a lognormal run factor, as on a shared machine. The run factor's sigma is chosen
 * so that the repetitions' values spread by 10 % in total (log-scale sd 0.10: run factor plus the
 * within-run noise left in a 30 s mean), which is the run-to-run spread the rank test sees. A repetition's value is its throughput over the measured time (mean of the
 * per-second samples) or, for latency, the p99 of its merged samples; its batches are the same
 * statistic over the batches chosen by chooseBatchCount. 200 comparisons per scenario; the measured
 * rates are printed.
 */
import { describe, expect, it } from "vitest";
import { batchBoundaries, batchMeansOf, chooseBatchCount } from "../../src/report/stats/batch-means.js";
import { type Direction, judge, type SideSamples, type VerdictKind } from "../../src/report/verdict.js";
import { createRng, type Rng } from "../../src/workload/rng.js";

const COMPARISONS = 200;
const SECONDS = 30;
const REP_SIGMA = 0.1;
const PHI = 0.6;
const SECOND_SIGMA = 0.08;
/** Variance of the mean of SECONDS stationary AR(1) values: s²/n · (1 + 2 Σ (1 − k/n) φ^k). */
const MEAN_VAR = (() => {
  let sum = 1;
  for (let k = 1; k < SECONDS; k++) sum += 2 * (1 - k / SECONDS) * PHI ** k;
  return ((SECOND_SIGMA * SECOND_SIGMA) / SECONDS) * sum;
})();
const RUN_SIGMA = Math.sqrt(REP_SIGMA * REP_SIGMA - MEAN_VAR);
const THRESHOLD_PCT = 5;

/** Box–Muller standard normal; the second value of each pair is kept for the next call. */
const spare = new WeakMap<Rng, number>();
function gaussian(rng: Rng): number {
  const kept = spare.get(rng);
  if (kept !== undefined) {
    spare.delete(rng);
    return kept;
  }
  const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
  const theta = 2 * Math.PI * rng.nextFloat();
  spare.set(rng, r * Math.sin(theta));
  return r * Math.cos(theta);
}

/** log multipliers of one run's seconds: run factor plus stationary AR(1) noise. */
function runLogLevels(rng: Rng): number[] {
  const runLog = RUN_SIGMA * gaussian(rng);
  const innovation = SECOND_SIGMA * Math.sqrt(1 - PHI * PHI);
  let e = SECOND_SIGMA * gaussian(rng);
  const out: number[] = [];
  for (let t = 0; t < SECONDS; t++) {
    out.push(runLog + e);
    e = PHI * e + innovation * gaussian(rng);
  }
  return out;
}

/** One throughput repetition: mean of the per-second throughput, batches of it. */
function throughputRun(rng: Rng, level: number): { rep: number; batches: number[] } {
  const series = runLogLevels(rng).map((l) => level * Math.exp(l));
  return {
    rep: series.reduce((a, v) => a + v, 0) / series.length,
    batches: batchMeansOf(series, chooseBatchCount(series)),
  };
}

function p99(sorted: Float64Array): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
}

const LATENCIES_PER_SECOND = 50;

/** One latency repetition: 50 lognormal latencies a second; p99 of the merged run and of each batch. */
function latencyRun(rng: Rng, level: number): { rep: number; batches: number[] } {
  const perSecond = runLogLevels(rng).map((l) => {
    const s = new Float64Array(LATENCIES_PER_SECOND);
    for (let i = 0; i < s.length; i++) s[i] = level * Math.exp(l + 0.5 * gaussian(rng));
    return s.sort();
  });
  const mergedP99 = (from: number, to: number) => {
    const all = new Float64Array((to - from) * LATENCIES_PER_SECOND);
    for (let t = from; t < to; t++) all.set(perSecond[t]!, (t - from) * LATENCIES_PER_SECOND);
    return p99(all.sort());
  };
  // Batch boundaries from the per-second medians, as the compare command would choose them from its own series.
  const medians = perSecond.map((s) => s[LATENCIES_PER_SECOND >> 1]!);
  const batches = batchBoundaries(SECONDS, chooseBatchCount(medians)).map(([s, e]) => mergedP99(s, e));
  return { rep: mergedP99(0, SECONDS), batches };
}

type RunMaker = (rng: Rng, level: number) => { rep: number; batches: number[] };

function side(rng: Rng, make: RunMaker, level: number, reps: number): SideSamples {
  const runs = Array.from({ length: reps }, () => make(rng, level));
  return { reps: runs.map((r) => r.rep), batches: runs.map((r) => r.batches) };
}

interface Scenario {
  name: string;
  make: RunMaker;
  direction: Direction;
  candidateLevel: number;
  reps: number;
}

function rates(s: Scenario, seed: number): Record<VerdictKind, number> & { repsNeededMedian: number | null } {
  const counts: Record<VerdictKind, number> = {
    regression: 0,
    improvement: 0,
    "no change": 0,
    inconclusive: 0,
  };
  const needed: number[] = [];
  for (let i = 0; i < COMPARISONS; i++) {
    const rng = createRng(seed, i);
    const baseline = side(rng, s.make, 1000, s.reps);
    const candidate = side(rng, s.make, 1000 * s.candidateLevel, s.reps);
    const v = judge({
      direction: s.direction,
      thresholdPct: THRESHOLD_PCT,
      baseline,
      candidate,
      comparisons: 1,
    });
    counts[v.verdict]++;
    if (v.repsNeeded !== null) needed.push(v.repsNeeded);
  }
  needed.sort((a, b) => a - b);
  const out = { ...counts, repsNeededMedian: needed.length ? needed[needed.length >> 1]! : null };
  for (const k of Object.keys(counts) as VerdictKind[]) out[k] = counts[k] / COMPARISONS;
  console.log(
    `${s.name.padEnd(44)} regression ${pct(out.regression)}  improvement ${pct(out.improvement)}  ` +
      `no change ${pct(out["no change"])}  inconclusive ${pct(out.inconclusive)}  median repsNeeded ${out.repsNeededMedian}`,
  );
  return out;
}

const pct = (r: number) => `${(r * 100).toFixed(1).padStart(5)} %`;

describe(`compare verdict on synthetic runs (${COMPARISONS} comparisons each, threshold ${THRESHOLD_PCT} %)`, () => {
  it("5 v 5 throughput: at most 5 % false regressions, 30 % drop found ≥ 95 %, 20 % drop ≥ 75 %", () => {
    const hi = "higher-is-better" as const;
    const same = rates(
      {
        name: "throughput 5v5, same distribution",
        make: throughputRun,
        direction: hi,
        candidateLevel: 1,
        reps: 5,
      },
      1,
    );
    const drop30 = rates(
      { name: "throughput 5v5, 30 % drop", make: throughputRun, direction: hi, candidateLevel: 0.7, reps: 5 },
      2,
    );
    const drop20 = rates(
      { name: "throughput 5v5, 20 % drop", make: throughputRun, direction: hi, candidateLevel: 0.8, reps: 5 },
      3,
    );
    const gain43 = rates(
      {
        name: "throughput 5v5, 43 % gain (1/0.7)",
        make: throughputRun,
        direction: hi,
        candidateLevel: 1 / 0.7,
        reps: 5,
      },
      4,
    );
    expect(same.regression).toBeLessThanOrEqual(0.05);
    expect(drop30.regression).toBeGreaterThanOrEqual(0.95);
    expect(drop20.regression).toBeGreaterThanOrEqual(0.75);
    expect(gain43.improvement).toBeGreaterThanOrEqual(0.95);
    expect(gain43.regression).toBe(0);
  });

  it("1 v 1 throughput (within-run): at most 5 % false regressions; only far-beyond drops are called", () => {
    const hi = "higher-is-better" as const;
    const same = rates(
      {
        name: "throughput 1v1, same distribution",
        make: throughputRun,
        direction: hi,
        candidateLevel: 1,
        reps: 1,
      },
      5,
    );
    const drop20 = rates(
      { name: "throughput 1v1, 20 % drop", make: throughputRun, direction: hi, candidateLevel: 0.8, reps: 1 },
      6,
    );
    const drop50 = rates(
      { name: "throughput 1v1, 50 % drop", make: throughputRun, direction: hi, candidateLevel: 0.5, reps: 1 },
      7,
    );
    const same3 = rates(
      {
        name: "throughput 3v3, same distribution",
        make: throughputRun,
        direction: hi,
        candidateLevel: 1,
        reps: 3,
      },
      8,
    );
    expect(same.regression).toBeLessThanOrEqual(0.05);
    expect(same3.regression).toBeLessThanOrEqual(0.05);
    expect(drop20.regression).toBeLessThan(drop50.regression);
    expect(drop50.regression).toBeGreaterThanOrEqual(0.9);
  });

  it("5 v 5 p99 latency (lower is better): at most 5 % false regressions, the slowdown of a 30 % drop found ≥ 95 %", () => {
    const lo = "lower-is-better" as const;
    const make = latencyRun;
    const same = rates(
      { name: "p99 latency 5v5, same distribution", make, direction: lo, candidateLevel: 1, reps: 5 },
      9,
    );
    // 1/0.7 and 1/0.8: the latency side of a 30 % and a 20 % throughput drop (same log change).
    const rise43 = rates(
      { name: "p99 latency 5v5, 43 % rise", make, direction: lo, candidateLevel: 1 / 0.7, reps: 5 },
      10,
    );
    const rise25 = rates(
      { name: "p99 latency 5v5, 25 % rise", make, direction: lo, candidateLevel: 1 / 0.8, reps: 5 },
      11,
    );
    const same1 = rates(
      { name: "p99 latency 1v1, same distribution", make, direction: lo, candidateLevel: 1, reps: 1 },
      12,
    );
    expect(same.regression).toBeLessThanOrEqual(0.05);
    expect(rise43.regression).toBeGreaterThanOrEqual(0.95);
    expect(rise25.regression).toBeGreaterThanOrEqual(0.6);
    expect(same1.regression).toBeLessThanOrEqual(0.05);
  });
});
