/** The decision rules of the compare verdict (src/report/verdict.ts), case by case. */
import { describe, expect, it } from "vitest";
import { tQuantile } from "../../src/report/stats/distributions.js";
import { judge, type VerdictInput } from "../../src/report/verdict.js";

const hi = "higher-is-better" as const;
const lo = "lower-is-better" as const;
const base5 = [100, 102, 98, 101, 99];

function input(partial: Partial<VerdictInput> & Pick<VerdictInput, "baseline" | "candidate">): VerdictInput {
  return { direction: hi, thresholdPct: 5, comparisons: 1, ...partial };
}

describe("rank-test verdicts (≥ 4 repetitions a side)", () => {
  it("calls a clear drop a regression, with the exact p-value and no repsNeeded", () => {
    const v = judge(input({ baseline: { reps: base5 }, candidate: { reps: [80, 82, 79, 81, 78] } }));
    expect(v.verdict).toBe("regression");
    expect(v.method).toBe("rank-test");
    expect(v.baseline).toBe(100);
    expect(v.candidate).toBe(80);
    // HL of the log ratio: median of the 25 log differences is log(80/100) here (symmetric layout).
    expect(v.changePct).toBeCloseTo(-20, 6);
    expect(v.ciPct[1]).toBeLessThan(0);
    expect(v.pValue).toBeCloseTo(2 / 252, 12); // completely separated 5 v 5, two-sided
    expect(v.confidence).toBeCloseTo(1 - 8 / 252, 12); // k = 3: 1 − 2·P(U ≤ 2)
    expect(v.repsNeeded).toBeNull();
    expect(v.note).toContain("Mann–Whitney U (exact)");
  });

  it("calls the mirror image an improvement", () => {
    const v = judge(input({ baseline: { reps: [80, 82, 79, 81, 78] }, candidate: { reps: base5 } }));
    expect(v.verdict).toBe("improvement");
    expect(v.changePct).toBeCloseTo(25, 6);
    expect(v.ciPct[0]).toBeGreaterThan(0);
  });

  it("says no change when the whole interval is within ±threshold", () => {
    const v = judge(
      input({
        baseline: { reps: [100, 100.4, 99.7, 100.2, 99.9] },
        candidate: { reps: [100.1, 99.8, 100.3, 99.6, 100] },
      }),
    );
    expect(v.verdict).toBe("no change");
    expect(v.ciPct[0]).toBeGreaterThanOrEqual(-5);
    expect(v.ciPct[1]).toBeLessThanOrEqual(5);
    expect(v.repsNeeded).toBeNull();
  });

  it("is inconclusive with the repetitions a clear verdict would need when the noise is large", () => {
    const v = judge(
      input({ baseline: { reps: [100, 112, 91, 105, 96] }, candidate: { reps: [97, 108, 88, 103, 93] } }),
    );
    expect(v.verdict).toBe("inconclusive");
    expect(v.repsNeeded).toBeGreaterThan(5);
    expect(v.repsNeeded).toBeLessThanOrEqual(100);
    expect(Number.isInteger(v.repsNeeded)).toBe(true);
  });

  it("needs a significant change: beyond the threshold but an interval through 0 is inconclusive", () => {
    const v = judge(
      input({ baseline: { reps: [100, 130, 80, 115, 90] }, candidate: { reps: [85, 120, 70, 100, 80] } }),
    );
    expect(v.changePct).toBeLessThan(-5);
    expect(v.ciPct[0]).toBeLessThan(0);
    expect(v.ciPct[1]).toBeGreaterThan(0);
    expect(v.verdict).toBe("inconclusive");
  });

  it("needs a change beyond the threshold: a significant −2 % with a 5 % threshold is not a regression", () => {
    const v = judge(
      input({
        baseline: { reps: [100, 100.2, 99.9, 100.1, 100.05] },
        candidate: { reps: [98, 98.1, 97.9, 98.05, 97.95] },
        thresholdPct: 5,
      }),
    );
    expect(v.ciPct[1]).toBeLessThan(0);
    expect(v.verdict).toBe("no change");
    const tight = judge(
      input({
        baseline: { reps: [100, 100.2, 99.9, 100.1, 100.05] },
        candidate: { reps: [98, 98.1, 97.9, 98.05, 97.95] },
        thresholdPct: 1,
      }),
    );
    expect(tight.verdict).toBe("regression");
  });

  it("reads latency the other way round (lower is better)", () => {
    const slower = {
      baseline: { reps: [2.0, 2.1, 1.9, 2.05, 1.95] },
      candidate: { reps: [2.6, 2.7, 2.5, 2.65, 2.55] },
    };
    expect(judge(input({ ...slower, direction: lo })).verdict).toBe("regression");
    expect(judge(input({ ...slower, direction: hi })).verdict).toBe("improvement");
    const faster = { baseline: slower.candidate, candidate: slower.baseline };
    expect(judge(input({ ...faster, direction: lo })).verdict).toBe("improvement");
  });

  it("corrects for the number of metrics (Bonferroni): 5 v 5 cannot reach 1 − 0.05/20", () => {
    const data = { baseline: { reps: base5 }, candidate: { reps: [80, 82, 79, 81, 78] } };
    const one = judge(input({ ...data, comparisons: 1 }));
    const twenty = judge(input({ ...data, comparisons: 20 }));
    expect(one.verdict).toBe("regression");
    // 2/252 > 0.05/20: no order statistic gives the level, the interval is unbounded.
    expect(twenty.verdict).toBe("inconclusive");
    expect(twenty.ciPct).toEqual([-100, Number.POSITIVE_INFINITY]);
    expect(twenty.confidence).toBe(1);
    expect(twenty.note).toContain("Bonferroni over 20 metrics");
    expect(twenty.note).toContain("no finite Hodges–Lehmann interval");
    // C(12, 6) = 924 ≥ 2/0.0025: six a side is the least that can give a finite interval.
    expect(twenty.repsNeeded).toBeGreaterThanOrEqual(6);
    const three = judge(input({ ...data, comparisons: 3 }));
    expect(three.confidence).toBeGreaterThanOrEqual(1 - 0.05 / 3);
    expect(three.verdict).toBe("regression");
  });

  it("is deterministic", () => {
    const i = input({
      baseline: { reps: [100, 112, 91, 105, 96] },
      candidate: { reps: [97, 108, 88, 103, 93] },
    });
    expect(judge(i)).toEqual(judge(i));
  });
});

describe("within-run verdicts (< 4 repetitions on a side)", () => {
  const batchesB = [[1000, 1030, 985, 1010, 975]];
  const batchesC = [[950, 990, 940, 965, 955]];
  const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;

  it("computes the interval from the batches widened by the assumed run noise, and says so", () => {
    const baseline = { reps: [mean(batchesB[0]!)], batches: batchesB };
    const candidate = { reps: [mean(batchesC[0]!)], batches: batchesC };
    const v = judge(input({ baseline, candidate }));
    expect(v.method).toBe("within-run");
    expect(v.pValue).toBeNull();
    expect(v.note).toContain("run-to-run noise unknown, assumed 10 %");
    expect(v.confidence).toBe(0.95);
    // By hand: se of each log statistic from its 5 batches, plus 0.10² per run, Welch–Satterthwaite df.
    const se2 = (b: number[]) => {
      const l = b.map(Math.log);
      const m = mean(l);
      return l.reduce((a, x) => a + (x - m) ** 2, 0) / (l.length - 1) / l.length;
    };
    const vb = se2(batchesB[0]!);
    const vc = se2(batchesC[0]!);
    const total = vb + vc + 2 * 0.01;
    const df = total ** 2 / (vb ** 2 / 4 + vc ** 2 / 4);
    const d = Math.log(candidate.reps[0]! / baseline.reps[0]!);
    const h = tQuantile(0.975, df) * Math.sqrt(total);
    expect(v.changePct).toBeCloseTo((Math.exp(d) - 1) * 100, 10);
    expect(v.ciPct[0]).toBeCloseTo((Math.exp(d - h) - 1) * 100, 10);
    expect(v.ciPct[1]).toBeCloseTo((Math.exp(d + h) - 1) * 100, 10);
    // About ±28 % in log terms with one run a side: a −4 % change is inconclusive, and needs the rank test.
    expect(h).toBeGreaterThan(0.27);
    expect(h).toBeLessThan(0.3);
    expect(v.verdict).toBe("inconclusive");
    expect(v.repsNeeded).toBeGreaterThanOrEqual(4);
  });

  it("says regression only far beyond the threshold", () => {
    const b = { reps: [1000], batches: [[1000, 1010, 990, 1005, 995]] };
    const drop = (f: number) => ({
      reps: [1000 * f],
      batches: [[1000, 1010, 990, 1005, 995].map((x) => x * f)],
    });
    expect(judge(input({ baseline: b, candidate: drop(0.85) })).verdict).toBe("inconclusive");
    expect(judge(input({ baseline: b, candidate: drop(0.6) })).verdict).toBe("regression");
    expect(judge(input({ baseline: b, candidate: drop(0.6), direction: lo })).verdict).toBe("improvement");
    // With no assumed run noise only the within-run spread counts: a 15 % drop is then clear.
    expect(judge(input({ baseline: b, candidate: drop(0.85), assumedRunNoisePct: 0 })).verdict).toBe(
      "regression",
    );
  });

  it("uses the repetitions' own spread when it exceeds the assumed noise", () => {
    const v = judge(
      input({
        baseline: { reps: [100, 140, 75] },
        candidate: { reps: [60, 85, 45] },
        assumedRunNoisePct: 10,
      }),
    );
    expect(v.method).toBe("within-run");
    expect(v.note).toContain("taken from the repetitions' spread");
    expect(v.note).toContain("6 of 6 runs without per-second batches");
    expect(v.verdict).toBe("inconclusive");
  });

  it("falls back to the within-run method when only one side has 4 repetitions", () => {
    const v = judge(input({ baseline: { reps: base5 }, candidate: { reps: [80, 81] } }));
    expect(v.method).toBe("within-run");
    expect(v.candidate).toBe(80.5);
  });

  it("cannot conclude from a run too short for batches", () => {
    const v = judge(
      input({ baseline: { reps: [100], batches: [[100]] }, candidate: { reps: [50], batches: [[50]] } }),
    );
    expect(v.verdict).toBe("inconclusive");
    expect(v.ciPct).toEqual([-100, Number.POSITIVE_INFINITY]);
    expect(v.repsNeeded).toBe(100);
  });
});

describe("input checks", () => {
  it("refuses values the log ratio cannot use and malformed options", () => {
    const ok = { baseline: { reps: [1, 2, 3, 4] }, candidate: { reps: [1, 2, 3, 4] } };
    expect(() => judge(input({ ...ok, candidate: { reps: [0, 1, 2, 3] } }))).toThrow(RangeError);
    expect(() => judge(input({ ...ok, baseline: { reps: [] } }))).toThrow(RangeError);
    expect(() => judge(input({ ...ok, thresholdPct: 0 }))).toThrow(RangeError);
    expect(() => judge(input({ ...ok, comparisons: 0 }))).toThrow(RangeError);
    expect(() => judge(input({ ...ok, alpha: 1 }))).toThrow(RangeError);
    expect(() => judge(input({ ...ok, baseline: { reps: [1, 2, 3, 4], batches: [[1]] } }))).toThrow(
      RangeError,
    );
  });
});
