/**
 * `compare`'s judgement, pure: baseline results against candidate results, for every job, step
 * and operation and every chosen metric, the figures of both sides, the change, its interval and
 * a verdict (src/report/verdict.ts). The unit is a measured repetition: every repetition of every
 * file on a side is one sample (a schemaVersion 1 file, or a job measured once, is one).
 *
 * - Throughput metrics (iops, bytes) are each repetition's throughput over its measured time;
 *   latency metrics (p50 … p99.99) are percentiles of each repetition's merged histogram.
 * - With fewer than 4 repetitions on a side the verdict uses a within-run interval: the
 *   statistic over contiguous batches of the repetition's one-second intervals (merged
 *   histograms per batch for percentiles; never an average of per-second percentiles).
 * - Multiple metrics: the verdicts of one job/step/operation are corrected together (Bonferroni):
 *   two-sided intervals at 1 − α/m, α = 5 %, so the chance of any false verdict among the m
 *   metrics is at most 5 %, and of any false regression (one side of it) at most 2.5 %.
 * Refuses (InputError, exit 2) results that did not measure the same work: different
 * fingerprints, jobs or steps that do not pair up, interrupted runs.
 */
import { InputError } from "../common/errors.js";
import { environmentDiff } from "../result/environment.js";
import type { LoadedResult } from "../result/file.js";
import { fingerprintDiff, fingerprintOf, pacingDiff } from "../result/fingerprint.js";
import { decodeHistogram, mergeInto, newLatencyHistogram } from "../result/histogram.js";
import type { Interval, JobResult, OpEfficiency, OpName, OpSummary } from "../result/types.js";
import { batchBoundaries, chooseBatchCount } from "./stats/batch-means.js";
import { describeLink } from "./table.js";
import { type Direction, judge, type SideSamples, type Verdict, type VerdictKind } from "./verdict.js";

export type MetricName = "iops" | "bytes" | "p50" | "p90" | "p99" | "p99.9" | "p99.99";
export const METRICS: readonly MetricName[] = ["iops", "bytes", "p50", "p90", "p99", "p99.9", "p99.99"];
export const DEFAULT_METRICS: readonly MetricName[] = ["iops", "p99"];

/** Thresholds in %: by metric, by group ("throughput" = iops and bytes, "latency" = percentiles). */
export const DEFAULT_THRESHOLDS: Readonly<Record<string, number>> = { throughput: 5, latency: 10 };

/** The family-wise chance of a false verdict (regression or improvement) over one row's metrics. */
export const FAMILY_ALPHA = 0.05;

const PERCENTILE: Record<string, number> = {
  p50: 50,
  p90: 90,
  p99: 99,
  "p99.9": 99.9,
  "p99.99": 99.99,
};

export function isThroughput(m: MetricName): boolean {
  return m === "iops" || m === "bytes";
}

export function thresholdFor(m: MetricName, thresholds: Readonly<Record<string, number>>): number {
  return thresholds[m] ?? thresholds[isThroughput(m) ? "throughput" : "latency"]!;
}

export interface CompareOptions {
  metrics: readonly MetricName[];
  /** By metric or group, in %; missing keys fall back to DEFAULT_THRESHOLDS. */
  thresholds: Readonly<Record<string, number>>;
  /** Assumed run-to-run noise for within-run verdicts, in % (default 10). */
  assumedRunNoisePct?: number;
}

/** One verdict: a metric of one operation of one job step (the figures are the verdict's). */
export interface CompareRow extends Omit<Verdict, "method"> {
  job: string;
  step: number;
  queueDepth: number;
  op: OpName;
  metric: MetricName;
  thresholdPct: number;
  /** Repetitions on each side. */
  baselineReps: number;
  candidateReps: number;
  method: Verdict["method"] | "one-sided-absent";
  /** Throughput metrics: how close to its link each side's (first file's) job came, when known. */
  baselineLink: OpEfficiency | null;
  candidateLink: OpEfficiency | null;
}

export interface Comparison {
  baseline: string[];
  candidate: string[];
  fingerprint: string;
  metrics: MetricName[];
  thresholds: Record<string, number>;
  rows: CompareRow[];
  /** What the reader must know: methods used, environment differences, missing data. */
  notes: string[];
  counts: Record<VerdictKind, number>;
}

interface StepKey {
  job: string;
  step: number;
  queueDepth: number;
}

const keyOf = (j: { name: string; step: number }): string => `${j.name}#${j.step}`;

/** One measured repetition of a job step, whatever the file's version. */
interface RepSample {
  read: OpSummary;
  write: OpSummary;
  durationSec: number;
  /** Its one-second intervals (v2), or null where the file does not keep them per job. */
  intervals: Interval[] | null;
}

function repetitionsOf(j: JobResult): RepSample[] {
  if (j.repetitions !== undefined && j.repetitions.length > 0) {
    return j.repetitions.map((r) => ({
      read: r.read,
      write: r.write,
      durationSec: r.durationSec,
      intervals: r.intervals,
    }));
  }
  return [{ read: j.read, write: j.write, durationSec: j.durationSec, intervals: null }];
}

function checkSameWork(all: LoadedResult[]): string {
  const first = all[0]!;
  const fp = fingerprintOf(first.result.workload);
  for (const other of all.slice(1)) {
    if (fingerprintOf(other.result.workload) !== fp) {
      const diff = fingerprintDiff(first.result.workload, other.result.workload, 3);
      throw new InputError(
        `${first.path} and ${other.path} measured different work (fingerprints differ): ${diff.join("; ")}`,
      );
    }
  }
  for (const r of all) {
    if (r.result.interrupted) {
      throw new InputError(
        `${r.path}: the run ended early (${r.result.stopReason ?? "interrupted"}): its figures are partial`,
      );
    }
  }
  return fp;
}

function stepsOf(side: LoadedResult[], label: string): Map<string, StepKey> {
  let keys: Map<string, StepKey> | null = null;
  for (const r of side) {
    const mine = new Map<string, StepKey>();
    for (const j of r.result.jobs)
      mine.set(keyOf(j), { job: j.name, step: j.step, queueDepth: j.queueDepth });
    if (keys === null) keys = mine;
    else {
      const a = [...keys.keys()].sort().join(",");
      const b = [...mine.keys()].sort().join(",");
      if (a !== b)
        throw new InputError(`${label} ${r.path}: its jobs and steps do not match ${side[0]!.path}'s`);
    }
  }
  return keys ?? new Map();
}

function describeStep(k: string): string {
  const [job, step] = k.split("#");
  return `job "${job}" step ${step}`;
}

/** The value of `metric` for one repetition's operation; null when the repetition did none. */
function repValue(op: OpSummary, metric: MetricName): number | null {
  if (op.ios === 0) return null;
  if (metric === "iops") return op.iops;
  if (metric === "bytes") return op.bytesPerSec;
  const l = op.latencyUs;
  const byKey: Record<string, number> = {
    p50: l.p50,
    p90: l.p90,
    p99: l.p99,
    "p99.9": l.p99_9,
    "p99.99": l.p99_99,
  };
  return byKey[metric]!;
}

/** The statistic over contiguous batches of a repetition's intervals (empty when it has none). */
function batchValues(intervals: Interval[] | null, op: OpName, metric: MetricName): number[] {
  if (intervals === null || intervals.length < 4) return [];
  const perSec = intervals.map((iv) => (iv.ms > 0 ? (iv[op].ios * 1000) / iv.ms : 0));
  const bounds = batchBoundaries(intervals.length, chooseBatchCount(perSec));
  const out: number[] = [];
  for (const [from, to] of bounds) {
    const part = intervals.slice(from, to);
    const ms = part.reduce((n, iv) => n + iv.ms, 0);
    const ios = part.reduce((n, iv) => n + iv[op].ios, 0);
    if (ios === 0 || ms <= 0) return []; // a batch without I/O: no within-run estimate
    if (metric === "iops") out.push((ios * 1000) / ms);
    else if (metric === "bytes") out.push((part.reduce((n, iv) => n + iv[op].bytes, 0) * 1000) / ms);
    else {
      const h = newLatencyHistogram();
      for (const iv of part) mergeInto(h, decodeHistogram(iv[op].histogram));
      out.push(h.getValueAtPercentile(PERCENTILE[metric]!));
    }
  }
  return out;
}

interface Side {
  samples: SideSamples;
  /** Repetitions that did this operation at all. */
  active: number;
  total: number;
}

function sideSamples(side: LoadedResult[], key: string, op: OpName, metric: MetricName): Side {
  const reps: number[] = [];
  const batches: number[][] = [];
  let total = 0;
  for (const r of side) {
    const j = r.result.jobs.find((x) => keyOf(x) === key)!;
    for (const rep of repetitionsOf(j)) {
      total++;
      const v = repValue(rep[op], metric);
      if (v === null || !(v > 0)) continue;
      reps.push(v);
      const b = batchValues(rep.intervals, op, metric);
      // too short for batches (under 4 intervals, or a version 1 file): the verdict then rests on
      // the assumed run-to-run noise alone, and says so
      batches.push(b.length >= 2 && b.every((x) => x > 0) ? b : []);
    }
  }
  return { samples: { reps, batches }, active: reps.length, total };
}

function linkEfficiency(side: LoadedResult[], key: string, op: OpName): OpEfficiency | null {
  const j = side[0]!.result.jobs.find((x) => keyOf(x) === key);
  return j?.efficiency?.[op] ?? null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The comparison; InputError when the results did not measure the same work. */
export function compareResults(
  baseline: LoadedResult[],
  candidate: LoadedResult[],
  opts: CompareOptions,
): Comparison {
  if (baseline.length === 0 || candidate.length === 0) {
    throw new InputError("compare: needs at least one baseline and one candidate result");
  }
  const fingerprint = checkSameWork([...baseline, ...candidate]);
  const bSteps = stepsOf(baseline, "baseline");
  const cSteps = stepsOf(candidate, "candidate");
  for (const k of bSteps.keys()) {
    if (!cSteps.has(k)) throw new InputError(`the candidate has no ${describeStep(k)} (the baseline has)`);
  }
  for (const k of cSteps.keys()) {
    if (!bSteps.has(k)) throw new InputError(`the baseline has no ${describeStep(k)} (the candidate has)`);
  }
  const thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const metrics = [...opts.metrics];
  const rows: CompareRow[] = [];
  const notes = new Set<string>();
  for (const [key, step] of [...bSteps.entries()].sort((a, b) => a[1].step - b[1].step)) {
    for (const op of ["read", "write"] as const) {
      const sides = metrics.map((metric) => ({
        metric,
        b: sideSamples(baseline, key, op, metric),
        c: sideSamples(candidate, key, op, metric),
      }));
      if (sides.every((s) => s.b.active === 0 && s.c.active === 0)) continue; // neither side did this op
      for (const { metric, b, c } of sides) {
        const thresholdPct = thresholdFor(metric, thresholds);
        const base = {
          job: step.job,
          step: step.step,
          queueDepth: step.queueDepth,
          op,
          metric,
          thresholdPct,
          baselineReps: b.total,
          candidateReps: c.total,
          baselineLink: isThroughput(metric) ? linkEfficiency(baseline, key, op) : null,
          candidateLink: isThroughput(metric) ? linkEfficiency(candidate, key, op) : null,
        };
        if (b.active < b.total || c.active < c.total || b.active === 0 || c.active === 0) {
          rows.push(absentRow(base, b, c, metric));
          continue;
        }
        const v = judge({
          direction: (isThroughput(metric) ? "higher-is-better" : "lower-is-better") satisfies Direction,
          thresholdPct,
          baseline: b.samples,
          candidate: c.samples,
          comparisons: metrics.length,
          alpha: FAMILY_ALPHA,
          assumedRunNoisePct: opts.assumedRunNoisePct,
        });
        if (v.method === "within-run") {
          notes.add(
            "within-run: fewer than 4 repetitions on a side, so the interval comes from the runs' one-second intervals and an ASSUMED run-to-run noise (it does not know the real one); measure with --repeat 5 for a rank test",
          );
        }
        rows.push({ ...base, ...v });
      }
    }
  }
  const links = [baseline[0]!, candidate[0]!].map((r) =>
    r.result.link ? describeLink(r.result.link) : "no link known",
  );
  if (baseline[0]!.result.link || candidate[0]!.result.link) {
    notes.add(`baseline: ${links[0]}; candidate: ${links[1]}`);
    for (const r of rows) {
      if (r.metric !== metrics.find(isThroughput) || (r.baselineLink === null && r.candidateLink === null))
        continue;
      const pct = (e: OpEfficiency | null): string =>
        e === null ? "?" : `${e.ofPayloadCeilingPct.toFixed(1)} %`;
      notes.add(
        `${r.job} ${r.op}: ${pct(r.baselineLink)} (baseline) and ${pct(r.candidateLink)} (candidate) of the link's iSCSI payload ceiling`,
      );
    }
  }
  for (const r of [...baseline, ...candidate]) {
    if (r.missing.length > 0)
      notes.add(`${r.path}: schemaVersion ${r.result.schemaVersion}: no ${r.missing.join(", no ")}`);
  }
  const env = environmentDiff(baseline[0]!.result.environment, candidate[0]!.result.environment);
  if (env.length > 0) notes.add(`environment differs: ${env.join("; ")}`);
  const pacing = pacingDiff(baseline[0]!.result.workload, candidate[0]!.result.workload);
  if (pacing.length > 0) notes.add(`workload differs outside the fingerprint: ${pacing.join("; ")}`);
  const counts: Record<VerdictKind, number> = {
    regression: 0,
    improvement: 0,
    "no change": 0,
    inconclusive: 0,
  };
  for (const r of rows) counts[r.verdict]++;
  return {
    baseline: baseline.map((r) => r.path),
    candidate: candidate.map((r) => r.path),
    fingerprint,
    metrics,
    thresholds,
    rows,
    notes: [...notes],
    counts,
  };
}

/**
 * A row where a side did none of this operation in some repetitions (or in all): a whole side
 * without it is a regression (the candidate stopped doing it) or an improvement; a partial one is
 * inconclusive, since a repetition without I/O has no throughput or latency to rank.
 */
function absentRow(
  base: Omit<
    CompareRow,
    | "verdict"
    | "method"
    | "baseline"
    | "candidate"
    | "changePct"
    | "ciPct"
    | "confidence"
    | "pValue"
    | "repsNeeded"
    | "note"
  >,
  b: Side,
  c: Side,
  metric: MetricName,
): CompareRow {
  const bm = b.active > 0 ? median(b.samples.reps) : 0;
  const cm = c.active > 0 ? median(c.samples.reps) : 0;
  let verdict: VerdictKind = "inconclusive";
  let note = `${b.total - b.active} baseline and ${c.total - c.active} candidate repetitions did no ${base.op}s`;
  if (c.active === 0 && b.active === b.total) {
    verdict = "regression";
    note = `the candidate did no ${base.op}s`;
  } else if (b.active === 0 && c.active === c.total) {
    verdict = isThroughput(metric) ? "improvement" : "inconclusive";
    note = `the baseline did no ${base.op}s`;
  }
  const change = bm > 0 ? (cm / bm - 1) * 100 : Number.POSITIVE_INFINITY;
  return {
    ...base,
    verdict,
    method: "one-sided-absent",
    baseline: bm,
    candidate: cm,
    changePct: change,
    ciPct: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    confidence: 0,
    pValue: null,
    repsNeeded: null,
    note,
  };
}
