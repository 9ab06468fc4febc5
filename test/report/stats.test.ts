/**
 * The statistics behind `iscsi-bench compare` against independent reference values: scipy's
 * mannwhitneyu, norm and t (Debian's python3-scipy), brute-force enumeration of the U distribution
 * and of the Hodges–Lehmann order statistics, and a numpy batch-means computation — all from
 * test/report/stats-oracle.py, run once for the whole file with every case on stdin.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  batchBoundaries,
  batchedLogStatistic,
  batchMeans,
  chooseBatchCount,
  lag1Autocorrelation,
} from "../../src/report/stats/batch-means.js";
import { normalQuantile, normalSf, tQuantile } from "../../src/report/stats/distributions.js";
import { hodgesLehmannShift } from "../../src/report/stats/hodges-lehmann.js";
import {
  type Alternative,
  averageRanks,
  exactUCdfTable,
  type MwuMethod,
  mannWhitneyU,
} from "../../src/report/stats/mann-whitney.js";
import { createRng } from "../../src/workload/rng.js";

const PYTHON = "/usr/bin/python3";
const ORACLE = fileURLToPath(new URL("./stats-oracle.py", import.meta.url));

const rng = createRng(20260511);
const uniform = () => rng.nextFloat();
const normal = () => {
  const u = 1 - uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
};
const sample = (n: number, shift = 0) => Array.from({ length: n }, () => normal() + shift);
/** Values on a coarse grid, so that ties are common. */
const tiedSample = (n: number, shift = 0) =>
  Array.from({ length: n }, () => Math.round(2 * (normal() + shift)) / 2);
const ar1 = (n: number, phi: number, level: number, sd: number) => {
  const out: number[] = [];
  let e = normal() * (sd / Math.sqrt(1 - phi * phi));
  for (let t = 0; t < n; t++) {
    out.push(level + e);
    e = phi * e + sd * normal();
  }
  return out;
};

interface MwuCase {
  x: number[];
  y: number[];
  alternative: Alternative;
  method?: MwuMethod | "auto";
}
const alternatives: Alternative[] = ["two-sided", "less", "greater"];
const mwuCases: MwuCase[] = [];
// Exact range (no ties, at least one side ≤ 8), every alternative.
for (const [m, n] of [
  [1, 1],
  [1, 5],
  [2, 2],
  [3, 4],
  [4, 4],
  [5, 5],
  [4, 7],
  [8, 8],
  [6, 12],
  [3, 40],
  [8, 9],
]) {
  for (const alternative of alternatives) mwuCases.push({ x: sample(m!), y: sample(n!, 0.8), alternative });
}
// Completely separated samples: the smallest possible exact p-value.
for (const alternative of alternatives)
  mwuCases.push({ x: [1, 2, 3, 4, 5], y: [6, 7, 8, 9, 10], alternative });
// Ties (asymptotic with the tie correction), small and large.
for (const [m, n] of [
  [4, 4],
  [5, 6],
  [12, 15],
  [30, 25],
]) {
  for (const alternative of alternatives)
    mwuCases.push({ x: tiedSample(m!), y: tiedSample(n!, 0.5), alternative });
}
// Large, no ties: asymptotic.
for (const [m, n] of [
  [9, 9],
  [20, 25],
  [60, 45],
]) {
  for (const alternative of alternatives) mwuCases.push({ x: sample(m!), y: sample(n!, 0.3), alternative });
}
// Forced methods; all values tied.
mwuCases.push({ x: sample(20), y: sample(20, 1), alternative: "two-sided", method: "exact" });
mwuCases.push({ x: sample(8), y: sample(60, 0.5), alternative: "less", method: "exact" });
mwuCases.push({ x: sample(5), y: sample(6, 1), alternative: "greater", method: "asymptotic" });
mwuCases.push({ x: [3, 3, 3], y: [3, 3, 3, 3], alternative: "two-sided" });

const ucdfCases = [
  [1, 1],
  [2, 3],
  [4, 4],
  [5, 5],
  [3, 8],
  [6, 7],
  [8, 8],
  [7, 2],
].map(([m, n]) => ({ m: m!, n: n! }));

const hlCases: Array<{ x: number[]; y: number[]; confidence: number }> = [];
for (const [m, n, confidence] of [
  [4, 4, 0.95],
  [4, 4, 0.99], // 1/70 > 0.005: unbounded interval
  [4, 5, 0.95],
  [5, 5, 0.95],
  [5, 5, 0.99],
  [5, 5, 0.9],
  [5, 5, 1 - 0.05 / 6],
  [6, 6, 0.95],
  [7, 9, 0.975],
  [8, 8, 0.95],
  [10, 10, 0.95],
  [3, 12, 0.9],
]) {
  hlCases.push({ x: sample(m!), y: sample(n!, 0.7), confidence: confidence! });
}
hlCases.push({ x: tiedSample(6), y: tiedSample(7, 1), confidence: 0.95 }); // tied differences
hlCases.push({ x: sample(101), y: sample(120, 0.2), confidence: 0.95 }); // asymptotic k
hlCases.push({ x: sample(150), y: sample(90, -0.1), confidence: 0.99 });

const normPpf = [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.975, 0.9999, 1 - 0.05 / 24];
const normSf = [-5, -1, 0, 0.5, 1.959963984540054, 3, 8, 20];
const tPpf: Array<{ p: number; df: number }> = [];
for (const p of [0.6, 0.975, 0.995, 0.9975, 0.999]) {
  for (const df of [1, 2, 3, 4, 9, 2.7, 5.5, 37.3, 1000]) tPpf.push({ p, df });
}

const bmCases = [
  { series: ar1(30, 0.6, 1000, 60) },
  { series: ar1(30, 0.9, 500, 40) },
  { series: ar1(30, 0, 200, 10) },
  { series: ar1(61, 0.7, 800, 50) },
  { series: ar1(17, 0.5, 100, 5) },
  { series: ar1(12, 0.3, 100, 5) },
  { series: ar1(8, 0.3, 100, 5) },
  { series: ar1(300, 0.95, 100, 3) },
];
const logstatCases = [
  [110, 95, 130, 101, 99],
  [0.0021, 0.0019, 0.0035, 0.0024, 0.002, 0.0022, 0.0027],
  [5, 5.5],
];

let oracleCache: Record<string, unknown> | undefined;
/** Runs the Python oracle once; fails (never skips) when python3-scipy is missing. */
function oracle(): Record<string, unknown> {
  if (oracleCache) return oracleCache;
  const probe = spawnSync(PYTHON, ["-c", "import scipy, numpy"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `the statistics oracle needs Debian's python3-scipy under ${PYTHON} ` +
        `(install it with scripts/install-peers.sh, or apt-get install -y python3-scipy): ` +
        `${probe.error?.message ?? probe.stderr.trim()}`,
    );
  }
  const cases = {
    mwu: mwuCases,
    ucdf: ucdfCases,
    hl: hlCases,
    normPpf,
    normSf,
    tPpf,
    bm: bmCases,
    logstat: logstatCases,
  };
  const run = spawnSync(PYTHON, [ORACLE], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) throw new Error(`stats-oracle.py failed: ${run.stderr}`);
  oracleCache = JSON.parse(run.stdout) as Record<string, unknown>;
  return oracleCache;
}

/** |actual − expected| ≤ rel·|expected| + abs. */
function close(actual: number, expected: number, rel = 1e-9, abs = 1e-300): void {
  if (actual === expected) return;
  const err = Math.abs(actual - expected);
  expect(err, `${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + abs);
}

describe("Mann–Whitney U against scipy.stats.mannwhitneyu", () => {
  it(`matches U and the p-value in ${mwuCases.length} cases (exact, ties, asymptotic, each alternative)`, () => {
    const ref = oracle()["mwu"] as Array<{ u: number; p: number }>;
    const methods = new Set<string>();
    mwuCases.forEach((c, i) => {
      const r = mannWhitneyU(c.x, c.y, c.alternative, c.method ?? "auto");
      methods.add(r.method);
      expect(r.u, `case ${i}`).toBe(ref[i]!.u);
      close(r.pValue, ref[i]!.p, 1e-9);
    });
    expect([...methods].sort()).toEqual(["asymptotic", "exact"]);
  });

  it("follows scipy's auto rule: exact with no ties and a side of at most 8", () => {
    expect(mannWhitneyU(sample(8), sample(30)).method).toBe("exact");
    expect(mannWhitneyU(sample(9), sample(9)).method).toBe("asymptotic");
    expect(mannWhitneyU([1, 2, 2], [3, 4]).method).toBe("asymptotic");
  });

  it("has the exact U distribution of brute-force enumeration", () => {
    const ref = oracle()["ucdf"] as number[][];
    ucdfCases.forEach((c, i) => {
      const cdf = exactUCdfTable(c.m, c.n);
      expect(cdf.length).toBe(ref[i]!.length);
      cdf.forEach((v, k) => {
        close(v, ref[i]![k]!, 1e-12, 1e-15);
      });
    });
  });

  it("ranks ties by their average rank", () => {
    expect(averageRanks([10, 20, 10, 30, 20, 20])).toEqual([1.5, 4, 1.5, 6, 4, 4]);
  });

  it("refuses empty samples", () => {
    expect(() => mannWhitneyU([], [1])).toThrow(RangeError);
  });
});

describe("Hodges–Lehmann shift and interval against brute force", () => {
  it(`matches the estimate, k, the interval and the achieved level in ${hlCases.length} cases`, () => {
    const ref = oracle()["hl"] as Array<{
      estimate: number;
      lower: number | null;
      upper: number | null;
      k: number;
      confidence: number;
      method: string;
    }>;
    hlCases.forEach((c, i) => {
      const r = hodgesLehmannShift(c.x, c.y, c.confidence);
      const e = ref[i]!;
      expect(r.method, `case ${i}`).toBe(e.method);
      expect(r.k, `case ${i}`).toBe(e.k);
      close(r.estimate, e.estimate, 1e-12, 1e-15);
      expect(r.lower).toBe(e.lower ?? Number.NEGATIVE_INFINITY);
      expect(r.upper).toBe(e.upper ?? Number.POSITIVE_INFINITY);
      close(r.confidence, e.confidence, 1e-12);
      expect(r.confidence).toBeGreaterThanOrEqual(c.confidence - 1e-12);
    });
  });

  it("gives an unbounded interval when the samples are too small for the level", () => {
    const r = hodgesLehmannShift([1, 2, 3, 4], [5, 6, 7, 8], 0.99);
    expect([r.lower, r.upper, r.k, r.confidence]).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      0,
      1,
    ]);
    expect(r.estimate).toBe(4);
  });
});

describe("normal and t quantiles against scipy.stats", () => {
  // Measured accuracy of @stdlib against scipy: the normal quantile to ~1e-12 relative down to
  // p = 1e-6 but only ~4e-7 at p = 1e-12 (irrelevant here: the corrected levels stay above 1e-6);
  // the t quantile to ~2e-9 relative.
  it("matches norm.ppf and norm.sf", () => {
    const o = oracle();
    normPpf.forEach((p, i) => {
      close(normalQuantile(p), (o["normPpf"] as number[])[i]!, p < 1e-6 ? 1e-6 : 1e-11);
    });
    normSf.forEach((z, i) => {
      close(normalSf(z), (o["normSf"] as number[])[i]!, 1e-10);
    });
  });

  it("matches t.ppf, integer and fractional degrees of freedom", () => {
    const ref = oracle()["tPpf"] as number[];
    tPpf.forEach((c, i) => {
      close(tQuantile(c.p, c.df), ref[i]!, 1e-8);
    });
    expect(tQuantile(0.975, Number.POSITIVE_INFINITY)).toBe(normalQuantile(0.975));
    expect(() => tQuantile(1.5, 3)).toThrow(RangeError);
  });
});

describe("batch means against numpy", () => {
  it("chooses the batch count by the lag-1 rule and matches the standard error", () => {
    const ref = oracle()["bm"] as Array<{
      batches: number;
      mean: number;
      se: number;
      df: number;
      lag1: number | null;
      means: number[];
    }>;
    const counts: number[] = [];
    bmCases.forEach((c, i) => {
      const r = batchMeans(c.series);
      const e = ref[i]!;
      counts.push(r.batches);
      expect(r.batches, `case ${i}`).toBe(e.batches);
      expect(chooseBatchCount(c.series)).toBe(e.batches);
      expect(r.df).toBe(e.df);
      close(r.mean, e.mean, 1e-12);
      close(r.se, e.se, 1e-10);
      if (e.lag1 !== null) close(r.lag1, e.lag1, 1e-9, 1e-12);
    });
    // The rule is not degenerate: the cases exercise more than one batch count.
    expect(new Set(counts).size).toBeGreaterThan(1);
  });

  it("cuts like numpy.array_split", () => {
    expect(batchBoundaries(11, 3)).toEqual([
      [0, 4],
      [4, 8],
      [8, 11],
    ]);
    expect(batchBoundaries(30, 5).every(([s, e]) => e - s === 6)).toBe(true);
    expect(() => batchBoundaries(3, 4)).toThrow(RangeError);
  });

  it("has no estimate for very short series", () => {
    expect(chooseBatchCount([1, 2, 3])).toBe(1);
    expect(batchMeans([1, 2, 3]).se).toBe(Number.POSITIVE_INFINITY);
    expect(lag1Autocorrelation([1, 2])).toBeNaN();
  });

  it("gives the standard error of a log statistic from the spread between batches", () => {
    const ref = oracle()["logstat"] as Array<{ logMean: number; se: number }>;
    logstatCases.forEach((v, i) => {
      const r = batchedLogStatistic(v);
      close(r.logMean, ref[i]!.logMean, 1e-12, 1e-15);
      close(r.se, ref[i]!.se, 1e-10);
      expect(r.df).toBe(v.length - 1);
    });
    expect(() => batchedLogStatistic([1, 0])).toThrow(RangeError);
  });
});
