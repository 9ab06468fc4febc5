/**
 * Helpers of the engine's end-to-end tests: build dist/ once, run the CLI from dist/ with node,
 * and check a result file against the schemaVersion 3 contract.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { parseResult } from "../../src/result/file.js";
import { decodeHistogram, mergeHistograms } from "../../src/result/histogram.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(ROOT, "dist", "cli.js");
export const WORKLOADS = join(ROOT, "workloads");

const LOCK = join(tmpdir(), "iscsi-bench-engine-build.lock");
const STAMP = join(ROOT, "dist", ".engine-test-build");
const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Compiles src/ to dist/ (the engine's workers run from dist/). Type errors elsewhere do not stop
 * emit. Test files running in parallel take turns (a lock directory), so no file is half-written
 * while another test starts workers from it.
 */
/** True when dist/ was built (by npm run build or by this helper) after the last change under src/. */
function distIsCurrent(): boolean {
  if (!existsSync(STAMP) || !existsSync(CLI)) return false;
  const built = statSync(STAMP).mtimeMs;
  const newest = (d: string): number =>
    Math.max(
      0,
      ...readdirSync(d, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(d, e.name)) : statSync(join(d, e.name)).mtimeMs,
      ),
    );
  return newest(join(ROOT, "src")) < built;
}

export function buildDist(): void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(LOCK, { recursive: true, force: true });
      sleepSync(200);
    }
  }
  try {
    if (!distIsCurrent()) {
      mkdirSync(dirname(STAMP), { recursive: true });
      writeFileSync(STAMP, `${Date.now()}\n`); // its mtime: when this build started
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.json")], {
        cwd: ROOT,
        stdio: "ignore",
        timeout: 120_000,
      });
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
  if (!existsSync(CLI) || !existsSync(join(ROOT, "dist", "engine", "job-worker.js"))) {
    throw new Error("build failed: dist/cli.js or dist/engine/job-worker.js missing");
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd: string, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, timeout: timeoutMs, env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        res({ code, stdout, stderr });
      },
    );
  });
}

const LAT_KEYS = ["min", "mean", "stddev", "p50", "p90", "p99", "p99_9", "p99_99", "max"];
const OP_KEYS = [
  "ios",
  "bytes",
  "iops",
  "bytesPerSec",
  "latencyUs",
  "serviceTimeUs",
  "histogram",
  "serviceHistogram",
];

// biome-ignore lint/suspicious/noExplicitAny: the result is checked key by key
export function checkOp(op: any, where: string): void {
  expect(Object.keys(op), where).toEqual(OP_KEYS);
  expect(Object.keys(op.latencyUs), where).toEqual(LAT_KEYS);
  expect(typeof op.histogram, where).toBe("string");
  if (op.ios > 0) {
    const l = op.latencyUs;
    expect(op.bytes, where).toBeGreaterThan(0);
    expect(op.iops, where).toBeGreaterThan(0);
    expect(op.bytesPerSec, where).toBeGreaterThan(0);
    expect(l.min, where).toBeGreaterThan(0);
    expect(l.min, where).toBeLessThanOrEqual(l.p50);
    expect(l.p50, where).toBeLessThanOrEqual(l.p90);
    expect(l.p90, where).toBeLessThanOrEqual(l.p99);
    expect(l.p99, where).toBeLessThanOrEqual(l.p99_9);
    expect(l.p99_9, where).toBeLessThanOrEqual(l.p99_99);
    expect(l.p99_99, where).toBeLessThanOrEqual(l.max);
    expect(l.mean, where).toBeGreaterThanOrEqual(l.min);
    expect(l.mean, where).toBeLessThanOrEqual(l.max);
    expect(op.histogram.startsWith("HISTF"), where).toBe(true);
  } else {
    expect(op.bytes, where).toBe(0);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field
type Json = any;

export const RECOVERY_KEYS = [
  "reconnects",
  "reinstatements",
  "reissued",
  "aborts",
  "commandTimeouts",
  "unitAttentions",
  "busyRetries",
  "outageMs",
  "recoveredBlocks",
];

/**
 * Checks a result's recovery counters (schemaVersion 3): every key, per job, repetition and in
 * total; the job is the sum of its repetitions, the total the sum of the jobs; the intervals and the
 * timeline have outageMs and reconnects, and with `clean` (no fault) nothing was lost or re-issued.
 */
export function checkRecovery(r: Json, clean: boolean): void {
  const sum = (xs: Json[], k: string): number => xs.reduce((n: number, x: Json) => n + x.recovery[k], 0);
  expect(Object.keys(r.summary.recovery)).toEqual(RECOVERY_KEYS);
  for (const j of r.jobs) {
    expect(Object.keys(j.recovery), j.name).toEqual(RECOVERY_KEYS);
    expect(j.reconnects, j.name).toBe(j.recovery.reconnects);
    for (const k of RECOVERY_KEYS) expect(sum(j.repetitions, k), `${j.name} ${k}`).toBe(j.recovery[k]);
    for (const rep of j.repetitions) {
      for (const iv of rep.intervals) {
        expect(iv.outageMs, j.name).toBeGreaterThanOrEqual(0);
        expect(iv.outageMs, j.name).toBeLessThanOrEqual(iv.ms * j.workers + 1);
        expect(Number.isInteger(iv.reconnects), j.name).toBe(true);
      }
    }
  }
  for (const k of RECOVERY_KEYS) expect(sum(r.jobs, k), `summary ${k}`).toBe(r.summary.recovery[k]);
  expect(r.summary.reconnects).toBe(r.summary.recovery.reconnects);
  for (const e of r.timeline) {
    expect(e.outageMs).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(e.reconnects)).toBe(true);
  }
  if (clean) {
    // nothing lost: no connection, re-issue or abort. A UNIT ATTENTION on a new nexus (tgtd's
    // power-on/reset) and BUSY answers are the target's normal behaviour, consumed and counted.
    for (const k of RECOVERY_KEYS.filter((x) => x !== "unitAttentions" && x !== "busyRetries"))
      expect(r.summary.recovery[k], k).toBe(0);
    for (const e of r.timeline) expect([e.outageMs, e.reconnects]).toEqual([0, 0]);
  }
}

/** Checks the contract of a finished (not interrupted) result of a run without faults. */
export function checkResult(r: Json, builtin: boolean): void {
  expect(r.schemaVersion).toBe(3);
  // the schema itself, as readResult checks it
  expect(parseResult(r, "result").missing).toEqual([]);
  expect(r.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
  expect(r.environment.target.capacityBytes).toBe(r.target.capacityBytes);
  expect(r.tool).toEqual({ name: "iscsi-bench", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  expect(Number.isNaN(Date.parse(r.startedAt))).toBe(false);
  expect(r.durationSec).toBeGreaterThan(0);
  expect(r.interrupted).toBe(false);
  expect(r.host.cpus).toBeGreaterThan(0);
  expect(typeof r.host.node).toBe("string");
  expect(typeof r.host.platform).toBe("string");
  expect(typeof r.workload.name).toBe("string");
  expect(Array.isArray(r.workload.jobs)).toBe(true);
  expect(r.target.builtin).toBe(builtin);
  expect(r.target.url).toMatch(/^iscsi:\/\//);
  expect(r.target.blockSize).toBeGreaterThanOrEqual(512);
  expect(r.target.capacityBytes).toBeGreaterThan(0);
  expect(typeof r.target.vendor).toBe("string");
  expect(typeof r.target.product).toBe("string");
  expect(typeof r.target.revision).toBe("string");
  expect(typeof r.target.negotiated.maxBurstLength).toBe("number");
  checkOp(r.summary.read, "summary.read");
  checkOp(r.summary.write, "summary.write");
  expect(r.summary.read.ios + r.summary.write.ios).toBeGreaterThan(0);
  expect(r.summary.errors).toBe(0);
  expect(r.summary.reconnects).toBe(0);
  expect(Object.keys(r.summary.verify)).toEqual(["enabled", "blocksChecked", "mismatches", "failures"]);
  expect(r.summary.verify.mismatches).toBe(0);
  expect(r.jobs.length).toBeGreaterThan(0);
  for (const j of r.jobs) {
    expect(typeof j.name).toBe("string");
    expect(j.queueDepth).toBeGreaterThan(0);
    expect(j.workers).toBeGreaterThan(0);
    checkOp(j.read, `${j.name}.read`);
    checkOp(j.write, `${j.name}.write`);
    expect(j.read.ios + j.write.ios, j.name).toBeGreaterThan(0);
    expect(j.errors).toBe(0);
    // the job step is the exact total of its repetitions, each of its intervals
    expect(j.repetitions.length).toBe(r.repeat);
    for (const op of ["read", "write"] as const) {
      const reps = j.repetitions.map((x: Json) => x[op]);
      expect(reps.reduce((n: number, x: Json) => n + x.ios, 0)).toBe(j[op].ios);
      for (const [k, rep] of j.repetitions.entries()) {
        const ivs = rep.intervals.map((iv: Json) => iv[op]);
        expect(
          ivs.reduce((n: number, x: Json) => n + x.ios, 0),
          `${j.name} rep ${k} ${op}`,
        ).toBe(rep[op].ios);
        for (const iv of ivs) expect(decodeHistogram(iv.histogram).totalCount).toBe(iv.ios);
      }
      const merged = mergeHistograms(reps.map((x: Json) => decodeHistogram(x.histogram)));
      expect(merged.totalCount).toBe(j[op].ios);
      expect(merged.getValueAtPercentile(99)).toBe(j[op].latencyUs.p99);
    }
  }
  expect(r.timeline.length).toBeGreaterThan(0);
  let t = 0;
  for (const e of r.timeline) {
    expect(e.t).toBeGreaterThan(t);
    t = e.t;
    for (const op of [e.read, e.write]) {
      expect(Object.keys(op)).toEqual(["iops", "bytesPerSec", "p99Us", "ios", "bytes", "histogram"]);
      expect(decodeHistogram(op.histogram).totalCount).toBe(op.ios);
    }
  }
  checkRecovery(r, true);
  // the timeline's intervals add up exactly to the run's totals
  for (const op of ["read", "write"] as const) {
    expect(r.timeline.reduce((n: number, e: Json) => n + e[op].ios, 0)).toBe(r.summary[op].ios);
  }
}
