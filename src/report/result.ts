/**
 * The versioned JSON result of a run (schemaVersion 1) and where it is written. The shape is
 * the documented contract of `iscsi-bench run`; secrets never appear in it.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { OpSummary } from "../engine/stats.js";
import type { OperationalParams } from "../iscsi/params.js";
import { redactUrl } from "../iscsi/url.js";
import type { ResolvedWorkload } from "../workload/types.js";

export const SCHEMA_VERSION = 1;

export interface TimelineOp {
  iops: number;
  bytesPerSec: number;
  p99Us: number;
}

export interface TimelineEntry {
  /** Seconds since the start of measurement (end of the 1 s interval). */
  t: number;
  /** Index of the run step (phase x queue-depth step) the interval belongs to. */
  step: number;
  read: TimelineOp;
  write: TimelineOp;
  errors: number;
}

export interface VerifyMismatchReport {
  job: string;
  lba: number;
  kind: "stale" | "wrong-lba" | "corrupt";
  expectedGeneration: number;
  foundGeneration: number | null;
}

export interface VerifySummary {
  enabled: boolean;
  blocksChecked: number;
  mismatches: number;
  /** The first mismatches found (at most 100). */
  failures: VerifyMismatchReport[];
}

export interface RateReport {
  iops: number | null;
  bytesPerSec: number | null;
  /** False when the schedule fell behind by more than max(1 s, 10 %): the target could not keep up. */
  keptUp: boolean;
  maxLagMs: number;
}

export interface JobResult {
  name: string;
  phase: number;
  step: number;
  queueDepth: number;
  workers: number;
  durationSec: number;
  read: OpSummary;
  write: OpSummary;
  errors: number;
  errorsBySense: Record<string, number>;
  reconnects: number;
  rate: RateReport | null;
  verify: VerifySummary;
}

export interface TargetReport {
  url: string;
  builtin: boolean;
  lun: number;
  vendor: string;
  product: string;
  revision: string;
  blockSize: number;
  capacityBytes: number;
  negotiated: OperationalParams | null;
}

export interface RunResult {
  schemaVersion: 1;
  tool: { name: string; version: string };
  startedAt: string;
  durationSec: number;
  interrupted: boolean;
  /** Why the run ended early ("interrupted", "max-errors", an error message), else null. */
  stopReason: string | null;
  host: { cpus: number; node: string; platform: string };
  workload: Record<string, unknown>;
  target: TargetReport;
  summary: {
    read: OpSummary;
    write: OpSummary;
    errors: number;
    errorsBySense: Record<string, number>;
    reconnects: number;
    verify: VerifySummary;
  };
  jobs: JobResult[];
  timeline: TimelineEntry[];
}

let cachedVersion: string | null = null;

/** The tool's version from package.json (two levels above src/report or dist/report). */
export function toolVersion(): string {
  if (cachedVersion === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
        version?: string;
      };
      cachedVersion = pkg.version ?? "0.0.0";
    } catch {
      cachedVersion = "0.0.0";
    }
  }
  return cachedVersion;
}

export function hostInfo(): RunResult["host"] {
  return { cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** The resolved workload as plain JSON, with the target URL's secrets removed. */
export function workloadForResult(w: ResolvedWorkload): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(w)) as Record<string, unknown>;
  if (typeof copy["target"] === "string") copy["target"] = redactUrl(copy["target"]);
  return copy;
}

export interface ResultInput {
  workload: ResolvedWorkload;
  startedAt: Date;
  durationSec: number;
  interrupted: boolean;
  stopReason: string | null;
  target: TargetReport;
  summary: RunResult["summary"];
  jobs: JobResult[];
  timeline: TimelineEntry[];
}

export function buildResult(input: ResultInput): RunResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "iscsi-bench", version: toolVersion() },
    startedAt: input.startedAt.toISOString(),
    durationSec: Math.round(input.durationSec * 1000) / 1000,
    interrupted: input.interrupted,
    stopReason: input.stopReason,
    host: hostInfo(),
    workload: workloadForResult(input.workload),
    target: { ...input.target, url: redactUrl(input.target.url) },
    summary: input.summary,
    jobs: input.jobs,
    timeline: input.timeline,
  };
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** results/<name>-<YYYYMMDD-HHMMSS>.json (local time); the name reduced to safe characters. */
export function defaultResultPath(name: string, startedAt: Date, cwd: string = process.cwd()): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "run";
  const d = startedAt;
  const stamp =
    `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}-` +
    `${pad2(d.getHours())}${pad2(d.getMinutes())}${pad2(d.getSeconds())}`;
  return join(cwd, "results", `${safe}-${stamp}.json`);
}

export function serializeResult(result: RunResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** Writes the result (creating the directory) and returns the absolute path. */
export function writeResult(result: RunResult, path: string): string {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, serializeResult(result));
  return abs;
}
