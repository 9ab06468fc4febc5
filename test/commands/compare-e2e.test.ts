/**
 * `iscsi-bench compare` on real runs of the built-in target, through the CLI as a user runs it:
 * the same workload twice with --repeat 5 passes; a candidate throttled by `rate` to half of the
 * baseline's IOPS exits 1 with the drop and its interval; a version 1 file is read; every bad input
 * exits 2 with one line naming the problem.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, type CliRun, runCli } from "../engine/e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-compare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const V1 = new URL("../result/fixtures/v1-seq-read.json", import.meta.url).pathname;

/** 4 KiB random reads at queue depth 4: short repetitions, a few thousand I/Os each. */
function workloadFile(name: string, rate: number | null): string {
  const job: Record<string, unknown> = {
    name: "reader",
    pattern: "random",
    blockSize: "4KiB",
    queueDepth: 4,
    size: "64MiB",
    seed: 3,
  };
  if (rate !== null) job["rate"] = { iops: rate };
  const path = join(dir, `${name}.workload.json`);
  writeFileSync(path, JSON.stringify({ name, duration: "1s", rampTime: "250ms", jobs: [job] }));
  return path;
}

async function run(name: string, rate: number | null): Promise<string> {
  const out = join(dir, `${name}.json`);
  // a warm-up, so that the first repetition of the fresh process is like the others
  const args = ["run", workloadFile(name, rate), "--repeat", "5", "--warmup", "2s", "--quiet", "--out", out];
  const r = await runCli(args, dir);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

const compare = (args: string[]): Promise<CliRun> => runCli(["compare", ...args], dir);

let baseline = "";
let again = "";
let paced = "";
let pacedAgain = "";
/** The same workload paced: its throughput is fixed whatever else this machine runs meanwhile. */
const PACE_IOPS = 2000;

beforeAll(async () => {
  buildDist();
  baseline = await run("base", null);
  again = await run("again", null);
  paced = await run("paced", PACE_IOPS);
  pacedAgain = await run("paced-again", PACE_IOPS);
}, 120_000);

describe("compare on real runs", () => {
  // The test files run two at a time, so an unpaced run's figures move with whatever the other
  // file does; paced, the same workload measures the same throughput and compare must see no
  // regression (its latency still moves with the machine's load, so throughput is what is judged).
  it("the same workload twice with --repeat 5: no regression, exit 0", async () => {
    const r = await compare([paced, "--against", pacedAgain, "--metric", "iops,bytes", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.regression).toBe(false);
    expect(j.rows.map((x: { metric: string }) => x.metric)).toEqual(["iops", "bytes"]);
    for (const row of j.rows) {
      expect(row.method).toBe("rank-test");
      expect(row.baselineReps).toBe(5);
      expect(row.candidateReps).toBe(5);
      expect(["no change", "inconclusive"]).toContain(row.verdict);
    }
    // unpaced, the figures are the machine's; whatever it says, it is a verdict with every figure
    const u = await compare([baseline, "--against", again, "--format", "json"]);
    expect([0, 1]).toContain(u.code);
    expect(JSON.parse(u.stdout).rows.map((x: { metric: string }) => x.metric)).toEqual(["iops", "p99"]);
  });

  it("a candidate throttled by rate to half of the baseline's IOPS: exit 1, the drop and its interval shown", async () => {
    const base = JSON.parse(readFileSync(baseline, "utf8"));
    // half of the slowest baseline repetition: every candidate repetition is slower than every
    // baseline one, however the shared machine's noise spread the baseline
    const slowest = Math.min(...base.jobs[0].repetitions.map((x: { read: { iops: number } }) => x.read.iops));
    const half = Math.max(50, Math.round(slowest / 2));
    const slow = await run("slow", half);
    const r = await compare([baseline, "--against", slow]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const row = r.stdout.split("\n").find((l) => l.includes("iops (±5%)"))!;
    expect(row).toContain("REGRESSION");
    const change = Number(/│\s*−(\d+(?:\.\d+)?)%\s*│/.exec(row)![1]);
    expect(change).toBeGreaterThan(35);
    expect(change).toBeLessThan(90);
    expect(row).toMatch(/\[−\d+(\.\d+)?%, −\d+(\.\d+)?%\]/); // the whole interval below zero
    expect(r.stdout).toContain("workload differs outside the fingerprint: jobs.reader.rate");
    const md = await compare([baseline, "--against", slow, "--format", "markdown"]);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain("🔴 **regression**");
  }, 60_000);

  it("--inconclusive fail turns an inconclusive verdict into exit 1", async () => {
    const r = await compare([V1, "--against", V1, "--inconclusive", "fail"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain("inconclusive");
    expect((await compare([V1, "--against", V1])).code).toBe(0);
  });

  it("reads a schemaVersion 1 result and says what it lacks", async () => {
    const r = await compare([V1, "--against", V1]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("schemaVersion 1: no repetitions");
  });
});

describe("compare: bad input is one line and exit 2", () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ["a missing file", () => [join(dir, "nope.json"), "--against", again], /nope\.json: file not found$/],
    [
      "not a result file",
      () => [workloadFile("w", null), "--against", again],
      /w\.workload\.json: not an iscsi-bench result \(no schemaVersion\)$/,
    ],
    [
      "an unknown schemaVersion",
      () => {
        const p = join(dir, "v9.json");
        writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(again, "utf8")), schemaVersion: 9 }));
        return [p, "--against", again];
      },
      /v9\.json: schemaVersion: unknown version 9/,
    ],
    [
      "different fingerprints (what differs is shown)",
      () => [V1, "--against", again],
      /measured different work \(fingerprints differ\): .*jobs\./,
    ],
    ["no --against", () => [again], /required option '--against <candidate.json...>' not specified/],
    [
      "a bad --threshold",
      () => [again, "--against", again, "--threshold", "p98=5%"],
      /--threshold: "p98=5%": unknown metric "p98"/,
    ],
    [
      "a bad --metric",
      () => [again, "--against", again, "--metric", "iops,p42"],
      /--metric: unknown metric "p42"/,
    ],
    [
      "a bad --format",
      () => [again, "--against", again, "--format", "html"],
      /--format: expected table or markdown or json/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await compare(args());
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toContain("    at ");
    });
  }

  it("jobs that do not match", async () => {
    const base = JSON.parse(readFileSync(again, "utf8"));
    base.jobs[0].step = 1;
    const p = join(dir, "steps.json");
    writeFileSync(p, JSON.stringify(base));
    const r = await compare([p, "--against", again]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'iscsi-bench: error: the candidate has no job "reader" step 1 (the baseline has)',
    );
  });
});
