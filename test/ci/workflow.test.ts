/**
 * docs/ci/regression-check.yml, run outside GitHub: the workflow's own `run:` steps, in order, as
 * the runner runs them (`bash --noprofile --norc -eo pipefail`, the workflow's and job's env, a
 * step summary file, CI=true), each in a fresh working directory that stands in for the checkout.
 * What the other steps do, the test provides itself: `uses:` steps (checkout, setup-node, the
 * artifact download and upload) and the install step (`npm ci`, which builds dist/ and puts
 * iscsi-bench on PATH): iscsi-bench is a wrapper around this repository's dist/cli.js on PATH, and
 * the baseline is the file where the download step unpacks it. The results are real runs of a
 * small workload on the built-in target; the slower candidate is really slower (a rate limit at
 * half the baseline's throughput), no result file is edited.
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORKFLOW_FILE = join(repoRoot, "docs/ci/regression-check.yml");
const CLI = join(repoRoot, "dist/cli.js");
/** Per step; a benchmark step here takes about 10 s on a busy 2-core machine. */
const STEP_TIMEOUT_MS = 120_000;
const CASE_TIMEOUT_MS = 150_000;

/** The measured time per repetition; the workflow's own default is for CI (5s). */
const BENCH_DURATION = process.env["BENCH_DURATION"] ?? "1s";

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
  shell?: string;
  "working-directory"?: string;
}

interface Job {
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string } };
  steps: Step[];
}

interface Workflow {
  env?: Record<string, unknown>;
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

interface StepOutcome {
  step: string;
  id: string | undefined;
  code: number;
  output: string;
}

interface WorkflowRun {
  dir: string;
  outcomes: StepOutcome[];
  /** The first step that failed; the runner skips the steps after it. */
  failed: StepOutcome | null;
  summary: string;
}

const workflow = parse(readFileSync(WORKFLOW_FILE, "utf8")) as Workflow;
const jobs = Object.values(workflow.jobs);
const job = jobs[0]!;
const steps = job.steps;
const stepWith = (uses: string): Step => {
  const s = steps.find((x) => x.uses?.startsWith(uses));
  if (s === undefined) throw new Error(`the workflow has no ${uses} step`);
  return s;
};
const downloadStep = stepWith("dawidd6/action-download-artifact@");
const uploadStep = stepWith("actions/upload-artifact@");
const installStep = steps.find((s) => s.id === "install");

/** Where the download step puts the default branch's result: its path, the uploaded file's name. */
const BASELINE_DROP = join(String(downloadStep.with?.["path"]), basename(String(uploadStep.with?.["path"])));
/** What the upload step uploads, relative to the working directory. */
const UPLOADED = String(uploadStep.with?.["path"]);

function plainEnv(env: Record<string, unknown> | undefined, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    const text = String(v);
    if (text.includes("${{")) throw new Error(`${where}.${k}: an expression, which only GitHub can evaluate`);
    out[k] = text;
  }
  return out;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let root: string;
let binDir: string;

function runScript(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const file = join(root, `step-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(file, script);
    // What `shell: bash` runs on a GitHub runner.
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      output += b.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? (signal === null ? 1 : 128), output });
    });
  });
}

/** Runs the workflow's run: steps in a fresh working directory prepared by `prepare`. */
async function runWorkflow(
  label: string,
  prepare: (dir: string) => void,
  overrides: Record<string, string> = {},
): Promise<WorkflowRun> {
  const dir = join(root, label);
  mkdirSync(dir);
  prepare(dir);
  const summaryFile = join(root, `${label}.summary.md`);
  writeFileSync(summaryFile, "");
  const runnerTemp = join(root, `${label}.runner-temp`);
  mkdirSync(runnerTemp);
  const base: Record<string, string> = {
    PATH: `${binDir}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: process.env["HOME"] ?? root,
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_REF_NAME: "feature",
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_PATH: join(root, `${label}.path`),
    GITHUB_ENV: join(root, `${label}.env`),
    GITHUB_OUTPUT: join(root, `${label}.output`),
    RUNNER_TEMP: runnerTemp,
    ...plainEnv(workflow.env, "env"),
    ...plainEnv(job.env, "jobs.env"),
  };
  const outcomes: StepOutcome[] = [];
  let failed: StepOutcome | null = null;
  for (const step of steps) {
    if (step.uses !== undefined || step === installStep) continue; // provided by the test
    const name = step.name ?? step.id ?? step.run!.split("\n")[0]!;
    const env = { ...base, ...plainEnv(step.env, `steps.${name}.env`), BENCH_DURATION, ...overrides };
    const { code, output } = await runScript(step.run!, dir, env);
    const outcome = { step: name, id: step.id, code, output };
    outcomes.push(outcome);
    if (code !== 0) {
      failed = outcome;
      break;
    }
  }
  return { dir, outcomes, failed, summary: readFileSync(summaryFile, "utf8") };
}

/** Everything a failed expectation needs to explain itself: each step's exit code and output. */
function describeRun(run: WorkflowRun): string {
  const steps = run.outcomes.map((o) => `--- step ${o.id ?? o.step}: exit ${o.code}\n${o.output}`);
  return `${steps.join("\n")}\n--- summary\n${run.summary}`;
}

/**
 * A small workload: the same work on every side, unless `extra` changes it. Paced at 1000 IOPS, so
 * that its throughput is the same whatever else the machine runs meanwhile (the test files run
 * two at a time): the cases test the workflow's mechanics, not this machine's noise.
 */
const PACE_IOPS = 1000;
function writeWorkload(dir: string, extra: Record<string, unknown> = {}): void {
  const workload = {
    name: "ci-check",
    duration: "2s",
    rampTime: "500ms",
    jobs: [
      {
        name: "reader",
        pattern: "sequential",
        readPercent: 100,
        blockSize: "64KiB",
        queueDepth: 8,
        workers: 1,
        offset: 0,
        size: "64MiB",
        seed: 1,
        rate: { iops: PACE_IOPS },
        ...extra,
      },
    ],
  };
  mkdirSync(join(dir, "workloads"), { recursive: true });
  writeFileSync(join(dir, "workloads/ci-check.json"), `${JSON.stringify(workload, null, 2)}\n`);
}
const WORKLOAD_ENV = { BENCH_WORKLOAD: "workloads/ci-check.json" };

/** Puts `file` where the download step would unpack the default branch's artifact. */
function placeBaseline(dir: string, file: string): void {
  const to = join(dir, BASELINE_DROP);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
}

/** Splits a markdown table row into its cells (a `\|` is part of a cell). */
function cellsOf(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, "|"));
}

interface MdTable {
  header: string[];
  separator: string[];
  rows: Record<string, string>[];
}

/** The one markdown table of a summary. */
function parseTable(summary: string): MdTable {
  const lines = summary.split("\n").filter((l) => l.trimStart().startsWith("|"));
  expect(lines.length).toBeGreaterThanOrEqual(2);
  const header = cellsOf(lines[0]!);
  const separator = cellsOf(lines[1]!);
  const rows = lines.slice(2).map((l) => {
    const cells = cellsOf(l);
    expect(cells).toHaveLength(header.length);
    return Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
  });
  return { header, separator, rows };
}

const VERDICT_CELLS = ["🔴 **regression**", "🟢 improvement", "⚪ no change", "🟡 inconclusive"];

function expectWellFormedTable(t: MdTable, metrics = ["iops (±5%)", "p99 (±10%)"]): void {
  expect(t.header).toEqual([
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
  expect(t.separator).toHaveLength(t.header.length);
  for (const s of t.separator) expect(s).toMatch(/^:?-{3,}:?$/);
  // One row per job, step, operation and metric: one job and step, reads only.
  expect(t.rows.map((r) => `${r["job"]} ${r["op"]} ${r["metric"]}`)).toEqual(
    metrics.map((m) => `reader read ${m}`),
  );
  for (const r of t.rows) {
    expect(VERDICT_CELLS).toContain(r["verdict"]);
    expect(r["qd"]).toBe("8");
    expect(r["reps"]).toBe(`${workflow.env?.["BENCH_REPEAT"]} vs ${workflow.env?.["BENCH_REPEAT"]}`);
  }
}

/** The default branch's result from case (a): what the upload step would have uploaded. */
let baselineFile: string | null = null;
const baseline = (): string => {
  if (baselineFile === null) throw new Error("case (a) did not leave a result to use as the baseline");
  return baselineFile;
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  root = mkdtempSync(join(tmpdir(), "iscsi-bench-ci-"));
  binDir = join(root, "bin");
  mkdirSync(binDir);
  writeFileSync(
    join(binDir, "iscsi-bench"),
    `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(CLI)} "$@"\n`,
    { mode: 0o755 },
  );
});

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe("docs/ci/regression-check.yml", () => {
  it("is a workflow the test can run: bash run: steps, plain env, install, download and upload", () => {
    expect(jobs).toHaveLength(1);
    expect(job.defaults?.run?.shell ?? workflow.defaults?.run?.shell).toBe("bash");
    expect(installStep?.run).toMatch(/^npm ci\b/m);
    const runSteps = steps.filter((s) => s.run !== undefined);
    expect(runSteps.map((s) => s.id)).toEqual(["install", "bench", "compare"]);
    for (const s of runSteps) {
      expect(s.run).not.toContain("${{");
      expect(s.if).toBeUndefined();
      expect(s.shell).toBeUndefined();
      expect(s["working-directory"]).toBeUndefined();
    }
    for (const s of steps) expect(s.run === undefined).not.toBe(s.uses === undefined);
    // The download step finds the artifact the upload step makes, and only that one.
    expect(downloadStep.with?.["name"]).toBe(uploadStep.with?.["name"]);
    expect(downloadStep.with?.["if_no_artifact_found"]).toBe("warn");
    expect(uploadStep.if).toContain("default_branch");
    expect(UPLOADED).toBe("results/candidate.json");
    expect(workflow.env?.["BENCH_DURATION"]).toBe("5s");
    expect(Number(workflow.env?.["BENCH_REPEAT"])).toBeGreaterThanOrEqual(5);
    expect(existsSync(join(repoRoot, String(workflow.env?.["BENCH_WORKLOAD"])))).toBe(true);
  });

  it(
    "(a) without a baseline: passes and the summary says there is none",
    async () => {
      const run = await runWorkflow("a-no-baseline", (d) => writeWorkload(d), WORKLOAD_ENV);
      expect(run.failed, describeRun(run)).toBeNull();
      expect(run.outcomes.map((o) => o.id)).toEqual(["bench", "compare"]);
      expect(run.summary).toMatch(/no baseline/i);
      expect(run.summary).not.toContain("|");
      const result = join(run.dir, UPLOADED);
      expect(existsSync(result)).toBe(true);
      baselineFile = join(root, "baseline.json");
      copyFileSync(result, baselineFile);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    "(b) against a baseline of the same workload: passes, the summary holds the verdict table",
    async () => {
      // throughput only: a paced run's throughput is fixed, its latency still moves with the load
      // of whatever else runs on this machine
      const run = await runWorkflow(
        "b-same",
        (d) => {
          writeWorkload(d);
          placeBaseline(d, baseline());
        },
        { ...WORKLOAD_ENV, BENCH_METRICS: "iops" },
      );
      expect(run.failed, describeRun(run)).toBeNull();
      expect(run.summary).toContain("### iscsi-bench compare: ✅ no regression");
      const table = parseTable(run.summary);
      expectWellFormedTable(table, ["iops (±5%)"]);
      for (const r of table.rows) expect(r["verdict"]).not.toBe("🔴 **regression**");
    },
    CASE_TIMEOUT_MS,
  );

  it(
    "(c) against a faster baseline: the compare step fails and the summary shows the regression",
    async () => {
      // Paced at half the baseline's pace: every candidate repetition is slower than every
      // baseline one, whatever the machine does meanwhile.
      const iops = PACE_IOPS / 2;
      const run = await runWorkflow(
        "c-slower",
        (d) => {
          writeWorkload(d, { rate: { iops } });
          placeBaseline(d, baseline());
        },
        WORKLOAD_ENV,
      );
      expect([run.failed?.id, run.failed?.code], describeRun(run)).toEqual(["compare", 1]);
      expect(run.failed?.output).toContain("::error title=iscsi-bench compare::a performance regression");
      expect(run.summary).toContain("### iscsi-bench compare: ❌ regression");
      const table = parseTable(run.summary);
      expectWellFormedTable(table);
      const iopsRow = table.rows.find((r) => r["metric"]!.startsWith("iops"))!;
      expect(iopsRow["verdict"]).toBe("🔴 **regression**");
      expect(iopsRow["change"]).toMatch(/^−\d/);
      // compare says the candidate was paced differently (the fingerprint leaves rate out).
      expect(run.summary).toContain("workload differs outside the fingerprint: jobs.reader.rate");
    },
    CASE_TIMEOUT_MS,
  );

  it(
    "(d) against a baseline of different work: fails with exit 2 and says the comparison is broken",
    async () => {
      const run = await runWorkflow(
        "d-different-work",
        (d) => {
          writeWorkload(d, { queueDepth: 4 });
          placeBaseline(d, baseline());
        },
        WORKLOAD_ENV,
      );
      expect([run.failed?.id, run.failed?.code], describeRun(run)).toEqual(["compare", 2]);
      expect(run.failed?.output).toContain("broken comparison (exit 2), not a verdict");
      expect(run.summary).toContain("broken comparison");
      expect(run.summary).toContain("no performance verdict");
      expect(run.summary).toMatch(/measured different work .*queueDepths: \[8\] vs \[4\]/);
      expect(run.summary).not.toContain("| job |");
    },
    CASE_TIMEOUT_MS,
  );
});
