/**
 * Reading a workload file: JSON.parse, zod validation, cross-field rules, and resolution into a
 * ResolvedWorkload (sizes in bytes, durations in ms, defaults filled in). Every problem becomes
 * one line "<file>: <json.path>: <what was expected>, got <what was found>"; with several
 * problems, the first one and "(and N more)".
 */

import { basename, extname } from "node:path";
import type { z } from "zod";
import { InputError } from "../common/errors.js";
import { formatJsonPath, type PathPart } from "../common/json-path.js";
import { readUserFile } from "../common/read-file.js";
import { parseDistribution } from "./distribution.js";
import type { RawJob, RawWorkload } from "./schema.js";
import { JOB_KEYS, NAME_PATTERN, RATE_KEYS, TOP_KEYS, workloadSchema } from "./schema.js";
import type { BlockSizeWeight, Distribution, ResolvedJob, ResolvedWorkload } from "./types.js";
import { describeValue, formatBytes, formatDuration, tryDuration, trySize } from "./units.js";

/** A bad workload file; message "<file>: <json.path>: <problem>". The CLI exits 2. */
export class WorkloadError extends InputError {}

export const DEFAULTS = {
  durationMs: 30_000,
  rampTimeMs: 0,
  pattern: "sequential",
  readPercent: 100,
  blockSize: 4096,
  queueDepth: 1,
  workers: 1,
  offset: 0,
  seed: 1,
} as const;

interface Problem {
  path: readonly PathPart[];
  message: string;
}

function problemText(source: string, p: Problem): string {
  const where = formatJsonPath(p.path);
  return where ? `${source}: ${where}: ${p.message}` : `${source}: ${p.message}`;
}

function fail(source: string, problems: Problem[]): never {
  const first = problemText(source, problems[0]!);
  throw new WorkloadError(problems.length > 1 ? `${first} (and ${problems.length - 1} more)` : first);
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `word`, when it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

function hint(word: string, candidates: readonly string[]): string {
  const m = didYouMean(word, candidates);
  return m ? ` (did you mean ${JSON.stringify(m)}?)` : "";
}

/** The keys allowed in the object at `path`. */
function keysAt(path: readonly PathPart[]): readonly string[] {
  if (path.length === 0) return TOP_KEYS;
  if (path[path.length - 1] === "rate") return RATE_KEYS;
  return JOB_KEYS;
}

type Issue = z.core.$ZodIssue;

/** Deepest issue of a union branch; among equal depths, one where the type matched wins. */
function issueScore(issue: Issue): number {
  if (issue.code === "invalid_union") {
    const inner = bestBranch(issue);
    return inner ? issueScore(inner) + issue.path.length * 2 : issue.path.length * 2;
  }
  return issue.path.length * 2 + (issue.code === "invalid_type" ? 0 : 1);
}

function bestBranch(issue: Issue & { code: "invalid_union" }): Issue | null {
  let best: Issue | null = null;
  let bestScore = 0; // a branch must beat "type mismatch at the union itself" (score 0)
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const score = issueScore(first);
    if (score > bestScore) {
      best = first;
      bestScore = score;
    }
  }
  return best;
}

function hasInput(issue: Issue): boolean {
  return "input" in issue && issue.input !== undefined;
}

/** One zod issue as problems (an unknown-keys issue gives one problem per key). */
function issueProblems(issue: Issue, base: readonly PathPart[]): Problem[] {
  const path = [...base, ...(issue.path as PathPart[])];
  if (issue.code === "invalid_union") {
    const inner = bestBranch(issue);
    if (inner) return issueProblems(inner, path);
  }
  if (issue.code === "unrecognized_keys") {
    const allowed = keysAt(path);
    return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key${hint(key, allowed)}` }));
  }
  if (issue.code === "custom" && issue.params?.["missing"] === true)
    return [{ path, message: issue.message }];
  if (issue.code === "invalid_type" && !hasInput(issue)) {
    return [{ path, message: `missing (${issue.message})` }];
  }
  let message = issue.message;
  if (!/, got /.test(message)) message += `, got ${describeValue(issue.input)}`;
  if (issue.code === "invalid_value" && typeof issue.input === "string") {
    message += hint(
      issue.input,
      issue.values.filter((v): v is string => typeof v === "string"),
    );
  }
  return [{ path, message }];
}

/** JSON position -> "line L, column C" (both 1-based). */
function lineColumn(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${position - lineStart + 1}`;
}

/** Parses JSON text; WorkloadError "<file>: invalid JSON at line L, column C: unexpected ...". */
export function parseWorkloadJson(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(msg);
    const position = m ? Number(m[1]) : /end of JSON input|Unterminated/i.test(msg) ? body.length : null;
    if (position === null) throw new WorkloadError(`${source}: invalid JSON (${msg})`);
    const found =
      position >= body.length ? "unexpected end of input" : `unexpected ${JSON.stringify(body[position])}`;
    throw new WorkloadError(`${source}: invalid JSON at ${lineColumn(body, position)}: ${found}`);
  }
}

/** Reads, validates and resolves a workload file. WorkloadError on any problem. */
export function loadWorkloadFile(path: string): ResolvedWorkload {
  const text = readUserFile(path, "a workload file", (m) => new WorkloadError(m));
  return resolveWorkload(parseWorkloadJson(text, path), path);
}

/** The default workload name: the file name without its extension, when it is a valid name. */
function defaultName(source: string): string {
  const base = basename(source, extname(source));
  return NAME_PATTERN.test(base) ? base : "workload";
}

interface Located {
  job: RawJob;
  path: PathPart[];
  group: number;
}

/** Validates raw JSON and resolves it; `source` names the file in messages. WorkloadError. */
export function resolveWorkload(raw: unknown, source: string): ResolvedWorkload {
  const parsed = workloadSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    fail(
      source,
      parsed.error.issues.flatMap((issue) => issueProblems(issue, [])),
    );
  }
  const w: RawWorkload = parsed.data;
  const problems: Problem[] = [];

  const located: Located[] = w.phases
    ? w.phases.flatMap((group, g) => group.map((job, j) => ({ job, path: ["phases", g, j], group: g })))
    : (w.jobs ?? []).map((job, j) => ({ job, path: ["jobs", j], group: 0 }));

  // Names: defaults, then uniqueness.
  const names = located.map((l, i) => l.job.name ?? `job${i + 1}`);
  const firstIndex = new Map<string, number>();
  names.forEach((name, i) => {
    const before = firstIndex.get(name);
    if (before !== undefined) {
      problems.push({
        path: [...located[i]!.path, "name"],
        message: `duplicate job name ${JSON.stringify(name)} (also ${formatJsonPath(located[before]!.path)})`,
      });
    } else firstIndex.set(name, i);
  });

  const durationMs = w.duration === undefined ? DEFAULTS.durationMs : (tryDuration(w.duration) as number);
  const rampTimeMs = w.rampTime === undefined ? DEFAULTS.rampTimeMs : (tryDuration(w.rampTime) as number);
  if (rampTimeMs >= durationMs) {
    problems.push({
      path: ["rampTime"],
      message: `expected a ramp time shorter than the duration (${formatDuration(durationMs)}), got ${describeValue(w.rampTime)}`,
    });
  }

  const jobs = located.map((l, i) => resolveJob(l, names[i]!, problems));

  // "after": phase = max(own group, phase of the named job + 1), following chains.
  const phases = resolvePhases(located, names, problems);
  jobs.forEach((job, i) => {
    job.phase = phases[i]!;
  });
  checkVerifyOverlaps(jobs, located, problems);

  if (problems.length > 0) fail(source, problems);
  const used = [...new Set(jobs.map((j) => j.phase))].sort((a, b) => a - b);
  for (const job of jobs) job.phase = used.indexOf(job.phase);

  return {
    name: w.name ?? defaultName(source),
    description: w.description ?? "",
    target: w.target ?? null,
    durationMs,
    rampTimeMs,
    jobs,
    phaseCount: used.length,
  };
}

function resolveJob(l: Located, name: string, problems: Problem[]): ResolvedJob {
  const j = l.job;
  const at = (key: string): PathPart[] => [...l.path, key];
  const pattern = j.pattern ?? DEFAULTS.pattern;
  const readPercent = j.readPercent ?? DEFAULTS.readPercent;

  let blockSizes: BlockSizeWeight[];
  if (j.blockSize === undefined) blockSizes = [{ bytes: DEFAULTS.blockSize, weight: 1 }];
  else if (typeof j.blockSize === "object") {
    blockSizes = Object.entries(j.blockSize).map(([k, weight]) => ({ bytes: trySize(k) as number, weight }));
  } else blockSizes = [{ bytes: trySize(j.blockSize) as number, weight: 1 }];
  const largest = Math.max(...blockSizes.map((b) => b.bytes));

  const distribution: Distribution = j.distribution
    ? parseDistribution(j.distribution)!
    : { kind: "uniform" };
  if (pattern === "sequential" && distribution.kind !== "uniform") {
    problems.push({
      path: at("distribution"),
      message: `expected "uniform" for a sequential job (distributions apply to random jobs), got ${describeValue(j.distribution)}`,
    });
  }

  const size = j.size === undefined ? null : (trySize(j.size) as number);
  if (size !== null && size < largest) {
    problems.push({
      path: at("size"),
      message: `expected a region of at least the largest block size (${formatBytes(largest)}), got ${describeValue(j.size)}`,
    });
  }
  const workers = j.workers ?? DEFAULTS.workers;
  const verify = j.verify ?? false;
  if (verify && readPercent >= 100) {
    problems.push({
      path: at("verify"),
      message:
        "expected writes in a verify job (readPercent below 100): only blocks the job writes can be checked",
    });
  }

  let rate: ResolvedJob["rate"] = null;
  if (j.rate) {
    rate = {
      iops: j.rate.iops ?? null,
      bytesPerSec: j.rate.bytesPerSec === undefined ? null : (trySize(j.rate.bytesPerSec) as number),
    };
  }

  return {
    name,
    pattern,
    readPercent,
    blockSizes,
    queueDepths:
      j.queueDepth === undefined
        ? [DEFAULTS.queueDepth]
        : typeof j.queueDepth === "number"
          ? [j.queueDepth]
          : j.queueDepth,
    workers,
    offset: j.offset === undefined ? DEFAULTS.offset : (trySize(j.offset) as number),
    size,
    distribution,
    rate,
    verify,
    seed: j.seed ?? DEFAULTS.seed,
    maxIos: j.ios ?? null,
    maxBytes: j.bytes === undefined ? null : (trySize(j.bytes) as number),
    phase: l.group,
  };
}

function resolvePhases(located: Located[], names: string[], problems: Problem[]): number[] {
  const byName = new Map<string, number>();
  names.forEach((n, i) => {
    if (!byName.has(n)) byName.set(n, i);
  });
  const phase = new Array<number | null>(located.length).fill(null);
  const visiting = new Set<number>();
  const bad = new Set<number>();

  const visit = (i: number): number => {
    const known = phase[i];
    if (known !== null && known !== undefined) return known;
    const l = located[i]!;
    const after = l.job.after;
    let p = l.group;
    if (after !== undefined && !bad.has(i)) {
      const target = byName.get(after);
      if (target === undefined) {
        bad.add(i);
        problems.push({
          path: [...l.path, "after"],
          message: `expected the name of a job in this file, got ${JSON.stringify(after)}${hint(after, names)}`,
        });
      } else if (target === i) {
        bad.add(i);
        problems.push({
          path: [...l.path, "after"],
          message: "expected another job's name, got the job's own name",
        });
      } else if (visiting.has(target)) {
        bad.add(i);
        problems.push({
          path: [...l.path, "after"],
          message: `expected no cycle, but ${JSON.stringify(after)} runs after this job`,
        });
      } else {
        visiting.add(i);
        p = Math.max(p, visit(target) + 1);
        visiting.delete(i);
      }
    }
    phase[i] = p;
    return p;
  };
  return located.map((_, i) => visit(i));
}

/** A verify job's blocks must not be written by another job running at the same time. */
function checkVerifyOverlaps(jobs: ResolvedJob[], located: Located[], problems: Problem[]): void {
  const end = (j: ResolvedJob): number => (j.size === null ? Number.POSITIVE_INFINITY : j.offset + j.size);
  jobs.forEach((v, i) => {
    if (!v.verify) return;
    jobs.forEach((o, k) => {
      if (k === i || o.phase !== v.phase || o.readPercent >= 100) return;
      if (k < i && o.verify) return; // reported once, on the first of the two
      if (o.offset < end(v) && v.offset < end(o)) {
        problems.push({
          path: [...located[k]!.path, "offset"],
          message: `expected a region apart from verify job ${JSON.stringify(v.name)} (both run at the same time and this one writes), got an overlapping region`,
        });
      }
    });
  });
}
