/**
 * compare's judgement on result files built the way the runner builds them (test/result/fixture.ts):
 * which samples it takes from a file, the verdicts on clear cases, what it refuses, and its three
 * outputs. A seeded study at the end runs whole synthetic result files through it.
 */
import { describe, expect, it } from "vitest";
import { compareExitCode } from "../../src/commands/compare.js";
import { InputError } from "../../src/common/errors.js";
import { compareResults, DEFAULT_METRICS, DEFAULT_THRESHOLDS } from "../../src/report/compare.js";
import { compareJson, renderCompareMarkdown, renderCompareTable } from "../../src/report/compare-format.js";
import { type LoadedResult, parseResult, readResult } from "../../src/result/file.js";
import { Rng } from "../../src/workload/rng.js";
import type { ResolvedWorkload } from "../../src/workload/types.js";
import { buildFixtureResult, type FixtureSecond, workload } from "../result/fixture.js";

const opts = { metrics: [...DEFAULT_METRICS], thresholds: { ...DEFAULT_THRESHOLDS } };

function loaded(name: string, reps: FixtureSecond[][], w: ResolvedWorkload = workload): LoadedResult {
  // through JSON and the reader, as compare gets them from disk
  return parseResult(JSON.parse(JSON.stringify(buildFixtureResult({ reps, workload: w }))), name);
}

/** `n` repetitions of `seconds` one-second intervals around `ios` I/Os and `baseUs` latency. */
function steady(
  n: number,
  seconds: number,
  ios: number,
  baseUs: number,
  wobble = 0.02,
  seed = 1,
): FixtureSecond[][] {
  const rng = new Rng(seed, 7);
  return Array.from({ length: n }, () =>
    Array.from({ length: seconds }, () => ({
      ios: Math.round(ios * (1 + wobble * (rng.nextFloat() - 0.5))),
      baseUs,
    })),
  );
}

describe("compare on result files", () => {
  it("takes every repetition of every file as one sample and finds a clear drop", () => {
    const base = loaded("base.json", steady(5, 6, 1000, 400, 0.02, 1));
    const cand = loaded("cand.json", steady(5, 6, 600, 700, 0.02, 2));
    const c = compareResults([base], [cand], opts);
    expect(c.rows.map((r) => `${r.job}/${r.op}/${r.metric}`)).toEqual([
      "reader/read/iops",
      "reader/read/p99",
    ]);
    const iops = c.rows[0]!;
    expect(iops.method).toBe("rank-test");
    expect(iops.baselineReps).toBe(5);
    expect(iops.candidateReps).toBe(5);
    expect(iops.baseline).toBeCloseTo(1000, -1);
    expect(iops.candidate).toBeCloseTo(600, -1);
    expect(iops.changePct).toBeCloseTo(-40, 0);
    expect(iops.ciPct[1]).toBeLessThan(0);
    expect(iops.verdict).toBe("regression");
    const p99 = c.rows[1]!;
    expect(p99.baseline).toBe(498);
    expect(p99.candidate).toBe(798);
    expect(p99.verdict).toBe("regression");
    expect(compareExitCode(c, false)).toBe(1);
  });

  it("the same work measured twice is no regression; three files of one repetition pool into three samples", () => {
    const a = loaded("a.json", steady(5, 6, 1000, 400, 0.02, 3));
    const b = loaded("b.json", steady(5, 6, 1000, 400, 0.02, 4));
    const c = compareResults([a], [b], opts);
    expect(c.counts.regression).toBe(0);
    expect(compareExitCode(c, false)).toBe(0);
    const singles = [5, 6, 7].map((s) => loaded(`s${s}.json`, steady(1, 8, 1000, 400, 0.02, s)));
    const d = compareResults(singles, [b], opts);
    expect(d.rows[0]!.baselineReps).toBe(3);
    expect(d.rows[0]!.method).toBe("within-run");
    expect(d.notes.some((n) => n.includes("ASSUMED run-to-run noise"))).toBe(true);
  });

  it("runs too short for batches rest on the assumed noise alone: a 90 % drop is still found", () => {
    const short = (ios: number, seed: number) => loaded(`s${seed}.json`, steady(1, 3, ios, 400, 0.02, seed));
    const c = compareResults([short(1000, 1)], [short(100, 2)], {
      metrics: ["iops"],
      thresholds: { throughput: 5 },
    });
    expect(c.rows[0]!.method).toBe("within-run");
    expect(c.rows[0]!.verdict).toBe("regression");
    expect(c.rows[0]!.note).toContain("2 of 2 runs without per-second batches");
    const same = compareResults([short(1000, 3)], [short(1000, 4)], {
      metrics: ["iops"],
      thresholds: { throughput: 5 },
    });
    expect(same.rows[0]!.verdict).toBe("inconclusive");
  });

  it("an operation a side stopped doing is a regression; one neither side did is left out", () => {
    const a = loaded("a.json", steady(4, 5, 1000, 400));
    const none = loaded("b.json", [
      [
        { ios: 0, baseUs: 400 },
        { ios: 0, baseUs: 400 },
      ],
    ]);
    const c = compareResults([a], [none], opts);
    expect(c.rows.every((r) => r.op === "read")).toBe(true);
    expect(c.rows[0]!.verdict).toBe("regression");
    expect(c.rows[0]!.note).toBe("the candidate did no reads");
  });

  it("refuses results of different work, with what differs", () => {
    const a = loaded("a.json", steady(1, 4, 1000, 400));
    const other: ResolvedWorkload = {
      ...workload,
      jobs: [{ ...workload.jobs[0]!, queueDepths: [16] }],
    };
    const b = loaded("b.json", steady(1, 4, 1000, 400), other);
    expect(() => compareResults([a], [b], opts)).toThrow(InputError);
    expect(() => compareResults([a], [b], opts)).toThrow(
      "a.json and b.json measured different work (fingerprints differ): jobs.reader.queueDepths: [32] vs [16]",
    );
  });

  it("notes, but accepts, a rate or seed that differs (a paced candidate of the same work)", () => {
    const a = loaded("a.json", steady(1, 4, 1000, 400));
    const paced: ResolvedWorkload = {
      ...workload,
      jobs: [{ ...workload.jobs[0]!, rate: { iops: 500, bytesPerSec: null } }],
    };
    const c = compareResults([a], [loaded("b.json", steady(1, 4, 500, 400), paced)], opts);
    expect(c.notes).toContain(
      'workload differs outside the fingerprint: jobs.reader.rate: null vs {"bytesPerSec":null,"iops":500}',
    );
  });

  it("refuses jobs or steps that do not pair up, and interrupted runs", () => {
    const a = loaded("a.json", steady(1, 4, 1000, 400));
    const renamed: ResolvedWorkload = { ...workload, jobs: [{ ...workload.jobs[0]!, name: "other" }] };
    const b = loaded("b.json", steady(1, 4, 1000, 400), renamed);
    expect(() => compareResults([a], [b], opts)).toThrow(/fingerprints differ|has no job/);
    const cut = JSON.parse(JSON.stringify(buildFixtureResult({ reps: steady(1, 4, 1000, 400) })));
    cut.interrupted = true;
    cut.stopReason = "interrupted";
    expect(() => compareResults([a], [parseResult(cut, "cut.json")], opts)).toThrow(
      "cut.json: the run ended early (interrupted): its figures are partial",
    );
  });

  it("reads schemaVersion 1 results and says what they lack", () => {
    const v1 = readResult(new URL("../result/fixtures/v1-seq-read.json", import.meta.url).pathname);
    const c = compareResults([v1], [v1], opts);
    expect(c.rows[0]!.baselineReps).toBe(1);
    expect(c.rows.map((r) => r.verdict)).toEqual(["inconclusive", "inconclusive"]);
    expect(c.notes.some((n) => n.includes("schemaVersion 1: no repetitions"))).toBe(true);
  });
});

describe("compare outputs", () => {
  const c = compareResults(
    [loaded("base.json", steady(5, 6, 1000, 400, 0.02, 1))],
    [loaded("cand.json", steady(5, 6, 600, 700, 0.02, 2))],
    opts,
  );

  it("markdown is a table a CI summary renders: header, separator, one row per metric, verdicts marked", () => {
    const md = renderCompareMarkdown(c);
    const lines = md.split("\n");
    expect(lines[0]).toBe("### iscsi-bench compare: ❌ regression");
    const table = lines.filter((l) => l.startsWith("|"));
    const split = (l: string): string[] =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((x) => x.trim());
    const head = split(table[0]!);
    expect(head).toEqual([
      "job",
      "qd",
      "op",
      "metric",
      "baseline",
      "candidate",
      "change",
      "interval",
      "verdict",
      "reps",
      "needs",
    ]);
    expect(split(table[1]!).every((x) => /^-{3,}:?$/.test(x))).toBe(true);
    const rows = table.slice(2).map(split);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toHaveLength(head.length);
    expect(rows[0]!.slice(0, 4)).toEqual(["reader", "32", "read", "iops (±5%)"]);
    expect(rows[0]![8]).toBe("🔴 **regression**");
    expect(rows[1]![3]).toBe("p99 (±10%)");
  });

  it("the table names the files and counts the verdicts; json carries every figure", () => {
    const t = renderCompareTable(c);
    expect(t.split("\n")[0]).toMatch(/^baseline: base\.json \(5 repetitions\) · candidate: cand\.json/);
    expect(t).toContain("REGRESSION");
    expect(t).toContain("2 regressions, 0 improvements, 0 no change, 0 inconclusive");
    const j = compareJson(c, 1) as {
      rows: Array<Record<string, unknown>>;
      exitCode: number;
      regression: boolean;
    };
    expect(j.exitCode).toBe(1);
    expect(j.regression).toBe(true);
    expect(j.rows[0]).toMatchObject({ metric: "iops", unit: "IO/s", verdict: "regression", baselineReps: 5 });
    expect(typeof j.rows[0]!["pValue"]).toBe("number");
  });
});

/**
 * A seeded study over whole synthetic result files: per run a lognormal factor (σ 0.10), per second
 * AR(1) noise; 5 repetitions a side of 10 s. Fewer trials than the verdict-level study
 * (test/report/verdict-power.test.ts), because every trial builds and reads four result files.
 */
describe("compare on synthetic result files (seeded)", () => {
  function normal(rng: Rng): number {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  function side(rng: Rng, reps: number, factor: number): FixtureSecond[][] {
    return Array.from({ length: reps }, () => {
      const run = Math.exp(0.1 * normal(rng)) * factor;
      let e = 0;
      return Array.from({ length: 10 }, () => {
        e = 0.6 * e + 0.04 * normal(rng);
        return { ios: Math.max(1, Math.round(400 * run * Math.exp(e))), baseUs: 400 };
      });
    });
  }
  function rate(trials: number, reps: number, factor: number, seed: number): number {
    const rng = new Rng(seed, 11);
    let regressions = 0;
    for (let i = 0; i < trials; i++) {
      const c = compareResults(
        [loaded("b.json", side(rng, reps, 1))],
        [loaded("c.json", side(rng, reps, factor))],
        { metrics: ["iops"], thresholds: { throughput: 5 } },
      );
      if (c.rows[0]!.verdict === "regression") regressions++;
    }
    return regressions / trials;
  }

  it("same work: few false regressions; a 30 % drop: nearly always found", () => {
    const same = rate(40, 5, 1, 21);
    const drop30 = rate(40, 5, 0.7, 22);
    const single = rate(40, 1, 1, 23);
    console.log(
      `compare on synthetic files, 40 trials each: same 5v5 ${(same * 100).toFixed(1)} % regressions, ` +
        `30 % drop 5v5 ${(drop30 * 100).toFixed(1)} % found, same 1v1 ${(single * 100).toFixed(1)} % regressions`,
    );
    expect(same).toBeLessThanOrEqual(0.05);
    expect(drop30).toBeGreaterThanOrEqual(0.9);
    expect(single).toBeLessThanOrEqual(0.05);
  }, 60_000);
});
