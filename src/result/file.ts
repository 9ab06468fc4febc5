/**
 * Result files on disk: where a run writes one, how it is written, and `readResult()`, which
 * reads one back validated and typed, or fails with one line that names the file and the JSON
 * path ("results/a.json: summary.read.histogram: expected string"). Older files are read as
 * they are: what a version 1 file lacks is listed in `missing`, never filled in; a version 2 file
 * lacks only the recovery counters (schemaVersion 3), which no reader compares, so its `missing`
 * stays empty and the recovery keys are simply absent.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { InputError } from "../common/errors.js";
import { formatJsonPath, type PathPart } from "../common/json-path.js";
import { readUserFile } from "../common/read-file.js";
import {
  resultSchema,
  type SchemaProblem,
  SUPPORTED_SCHEMA_VERSIONS,
  v2Problems,
  v3Problems,
} from "./schema.js";
import type { RunResult } from "./types.js";

/** A file that is not a readable result; the commands exit 2. */
export class ResultFileError extends InputError {}

export interface LoadedResult {
  /** The path as given. */
  path: string;
  result: RunResult;
  /** What this file's schema version does not record (empty for the current version). */
  missing: string[];
}

/** What a version 1 file does not have, in the words of docs/result-schema.md. */
export const MISSING_IN_V1 = [
  "repetitions (each step was measured once)",
  "per-interval histograms (timeline percentiles beyond p99)",
  "service-time histograms",
  "fingerprint (compare derives it from the recorded workload)",
  "environment (CPU model, target identity at run time)",
  "link and link efficiency",
];

/** "1, 2 and 3" */
function readableVersions(): string {
  const v = SUPPORTED_SCHEMA_VERSIONS.map(String);
  return v.length === 1 ? v[0]! : `${v.slice(0, -1).join(", ")} and ${v[v.length - 1]}`;
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function fail(source: string, problem: SchemaProblem, more: number): never {
  const where = formatJsonPath(problem.path);
  const line = where ? `${source}: ${where}: ${problem.message}` : `${source}: ${problem.message}`;
  throw new ResultFileError(more > 0 ? `${line} (and ${more} more)` : line);
}

/** Validates parsed JSON as a result; `source` names it in messages. */
export function parseResult(json: unknown, source: string): LoadedResult {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ResultFileError(`${source}: not an iscsi-bench result (expected a JSON object)`);
  }
  const raw = json as Record<string, unknown>;
  const version = raw["schemaVersion"];
  if (version === undefined) {
    throw new ResultFileError(`${source}: not an iscsi-bench result (no schemaVersion)`);
  }
  if (!SUPPORTED_SCHEMA_VERSIONS.includes(version as 1 | 2 | 3)) {
    throw new ResultFileError(
      `${source}: schemaVersion: unknown version ${JSON.stringify(version)} (this iscsi-bench reads ${readableVersions()}; a newer one may read it)`,
    );
  }
  const parsed = resultSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    const path = first.path as PathPart[];
    const missing = first.code === "invalid_type" && valueAt(json, path) === undefined;
    fail(
      source,
      { path, message: missing ? `missing (${first.message})` : first.message },
      issues.length - 1,
    );
  }
  const result = parsed.data;
  if (result.schemaVersion >= 2) {
    const problems = [...v2Problems(result), ...(result.schemaVersion >= 3 ? v3Problems(result) : [])];
    if (problems.length > 0) fail(source, problems[0]!, problems.length - 1);
  }
  return { path: source, result, missing: result.schemaVersion === 1 ? [...MISSING_IN_V1] : [] };
}

/** Reads and validates a result file. Throws ResultFileError (one line) on any problem. */
export function readResult(path: string): LoadedResult {
  const text = readUserFile(path, "a result file", (m) => new ResultFileError(m));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ResultFileError(`${path}: not an iscsi-bench result (not JSON: ${why})`);
  }
  return parseResult(json, path);
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
