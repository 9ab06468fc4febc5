/**
 * The one reducer: it combines parts of a result into a whole, wherever the parts come from:
 * a job's workers (every second, and at the end), the intervals of a repetition, the repetitions
 * of a step, and later the hosts of one sharded workload. The rules are the same for all:
 *   - histograms are added bucket by bucket (exact), and percentiles are computed from the sum;
 *     a percentile is never averaged;
 *   - counters (I/Os, bytes, errors, errors by sense, verify counts, recovery counts and outage
 *     milliseconds) are summed;
 *   - time depends on how the parts ran: parts that ran side by side ("parallel": workers, hosts)
 *     cover the longest of their times, parts that ran one after another ("sequential":
 *     intervals, repetitions, steps) the sum, and throughput is always counters over that time;
 *   - timelines are aligned on their interval start: (step, repetition, interval index).
 */
import { InputError } from "../common/errors.js";
import { decodeHistogram, encodeHistogram, mergeInto } from "./histogram.js";
import {
  addPackedOp,
  addToAccumulator,
  type EncodedOp,
  newOpAccumulator,
  type OpAccumulator,
  type PackedOp,
  summarizeOp,
} from "./op.js";
import type {
  Interval,
  IntervalOp,
  JobRepetition,
  JobResult,
  OpName,
  OpSummary,
  RecoveryReport,
  RunSummary,
  TimelineEntry,
  TimelineOp,
  VerifyMismatchReport,
  VerifySummary,
} from "./types.js";

export type TimeMode = "parallel" | "sequential";

export const MAX_VERIFY_FAILURES = 100;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const perSec = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);

/** Adds one encoded part (a worker's interval, a result's OP) into an accumulator. */
export function addEncodedOp(into: OpAccumulator, part: EncodedOp): void {
  into.ios += part.ios;
  into.bytes += part.bytes;
  // "" stands for "no histogram" (an interval keeps only the latency one)
  if (part.latency.length > 0) mergeInto(into.latency, decodeHistogram(part.latency));
  if (part.service.length > 0) mergeInto(into.service, decodeHistogram(part.service));
}

/** The encoded part of a result's OP; InputError when it has no service-time histogram (version 1). */
export function encodedOpOf(op: OpSummary, where: string): EncodedOp {
  if (op.serviceHistogram === undefined) {
    throw new InputError(`${where}: no serviceHistogram (a schemaVersion 1 result): cannot combine it`);
  }
  return { ios: op.ios, bytes: op.bytes, latency: op.histogram, service: op.serviceHistogram };
}

/** Combines OPs into one over `seconds` of time. */
export function reduceOps(parts: EncodedOp[], seconds: number): OpSummary {
  const acc = newOpAccumulator();
  for (const p of parts) addEncodedOp(acc, p);
  return summarizeAccumulator(acc, seconds);
}

export function summarizeAccumulator(acc: OpAccumulator, seconds: number): OpSummary {
  return summarizeOp(acc.latency, acc.service, acc.ios, acc.bytes, seconds);
}

/** One interval's operation, as the result stores it. */
export function intervalOpOf(acc: OpAccumulator): IntervalOp {
  return { ios: acc.ios, bytes: acc.bytes, histogram: encodeHistogram(acc.latency) };
}

/**
 * An interval accumulator: both operations, errors, the time it covers, and the recovery seen in
 * it (milliseconds without a connection and reconnects, summed over sessions). `hasRecovery` is
 * false while only parts without recovery figures (older files) went in.
 */
export interface IntervalAccumulator {
  read: OpAccumulator;
  write: OpAccumulator;
  errors: number;
  ms: number;
  outageMs: number;
  reconnects: number;
  hasRecovery: boolean;
}

export function newIntervalAccumulator(): IntervalAccumulator {
  return {
    read: newOpAccumulator(),
    write: newOpAccumulator(),
    errors: 0,
    ms: 0,
    outageMs: 0,
    reconnects: 0,
    hasRecovery: false,
  };
}

/** One interval part as it arrives (a worker's second, an interval of a file). */
export interface IntervalPart {
  read: EncodedOp;
  write: EncodedOp;
  errors: number;
  ms: number;
  /** Absent in parts of files before schemaVersion 3. */
  outageMs?: number;
  reconnects?: number;
}

/** Adds a part of interval `index` (e.g. one worker's second) into `intervals`. Parallel parts. */
export function addIntervalPart(
  intervals: Map<number, IntervalAccumulator>,
  index: number,
  part: IntervalPart,
): void {
  const read = newOpAccumulator();
  const write = newOpAccumulator();
  addEncodedOp(read, part.read);
  addEncodedOp(write, part.write);
  const hasRecovery = part.outageMs !== undefined || part.reconnects !== undefined;
  addIntervalAccumulator(intervals, index, {
    read,
    write,
    errors: part.errors,
    ms: part.ms,
    outageMs: part.outageMs ?? 0,
    reconnects: part.reconnects ?? 0,
    hasRecovery,
  });
}

/** The same, for a part already decoded (one decode serves every whole the part belongs to). */
export function addIntervalAccumulator(
  intervals: Map<number, IntervalAccumulator>,
  index: number,
  part: IntervalAccumulator,
): void {
  const iv = intervalSlot(intervals, index);
  addToAccumulator(iv.read, part.read);
  addToAccumulator(iv.write, part.write);
  addIntervalCounters(iv, part);
}

/** A worker's interval as it arrives in the runner: its operations packed (see packOp). */
export interface PackedIntervalPart {
  read: PackedOp;
  write: PackedOp;
  errors: number;
  ms: number;
  outageMs: number;
  reconnects: number;
}

/** The same, for a worker's packed interval (recovery figures always present). */
export function addPackedInterval(
  intervals: Map<number, IntervalAccumulator>,
  index: number,
  part: PackedIntervalPart,
): void {
  const iv = intervalSlot(intervals, index);
  addPackedOp(iv.read, part.read);
  addPackedOp(iv.write, part.write);
  addIntervalCounters(iv, { ...part, hasRecovery: true });
}

function intervalSlot(intervals: Map<number, IntervalAccumulator>, index: number): IntervalAccumulator {
  let iv = intervals.get(index);
  if (iv === undefined) {
    iv = newIntervalAccumulator();
    intervals.set(index, iv);
  }
  return iv;
}

function addIntervalCounters(
  iv: IntervalAccumulator,
  part: Pick<IntervalAccumulator, "errors" | "ms" | "outageMs" | "reconnects" | "hasRecovery">,
): void {
  iv.errors += part.errors;
  if (part.ms > iv.ms) iv.ms = part.ms;
  iv.outageMs += part.outageMs;
  iv.reconnects += part.reconnects;
  iv.hasRecovery ||= part.hasRecovery;
}

/** The recovery keys of an interval or timeline entry (none for parts of older files). */
function recoveryKeys(iv: IntervalAccumulator): { outageMs?: number; reconnects?: number } {
  return iv.hasRecovery ? { outageMs: Math.round(iv.outageMs), reconnects: iv.reconnects } : {};
}

/** True for an interval with no time and no I/O (a worker's empty final snapshot). */
function emptyInterval(iv: IntervalAccumulator): boolean {
  return iv.ms <= 0 && iv.read.ios === 0 && iv.write.ios === 0 && iv.errors === 0;
}

/**
 * The time an interval covers: its own; an interval that reports no time but I/Os (a worker's
 * final snapshot taken in the same millisecond) counts as a second; one with only errors (the
 * read-back of a verify job, after measurement) covers no time.
 */
function intervalMs(iv: IntervalAccumulator): number {
  if (iv.ms > 0) return iv.ms;
  return iv.read.ios > 0 || iv.write.ios > 0 ? 1000 : 0;
}

/** The intervals of one repetition, in order, each starting where the previous one ended. */
export function intervalsOf(intervals: Map<number, IntervalAccumulator>): Interval[] {
  const out: Interval[] = [];
  let start = 0;
  for (const index of [...intervals.keys()].sort((a, b) => a - b)) {
    const iv = intervals.get(index)!;
    if (emptyInterval(iv)) continue;
    const ms = intervalMs(iv);
    out.push({
      index,
      startSec: round3(start / 1000),
      ms: round3(ms),
      read: intervalOpOf(iv.read),
      write: intervalOpOf(iv.write),
      errors: iv.errors,
      ...recoveryKeys(iv),
    });
    start += ms;
  }
  return out;
}

function timelineOp(acc: OpAccumulator, ms: number): TimelineOp {
  return {
    iops: round2(perSec(acc.ios, ms)),
    bytesPerSec: Math.round(perSec(acc.bytes, ms)),
    p99Us: acc.latency.totalCount > 0 ? acc.latency.getValueAtPercentile(99) : 0,
    ios: acc.ios,
    bytes: acc.bytes,
    histogram: encodeHistogram(acc.latency),
  };
}

/**
 * Timeline entries of one repetition of one step (all its jobs), `t` counted on from `tStartSec`
 * (the measured time of everything before). Returns the entries and the time they cover.
 */
export function timelineOf(
  intervals: Map<number, IntervalAccumulator>,
  step: number,
  repetition: number,
  tStartSec: number,
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let t = tStartSec;
  for (const index of [...intervals.keys()].sort((a, b) => a - b)) {
    const iv = intervals.get(index)!;
    if (emptyInterval(iv)) continue;
    const ms = intervalMs(iv);
    t += ms / 1000;
    out.push({
      t: round3(t),
      step,
      read: timelineOp(iv.read, ms),
      write: timelineOp(iv.write, ms),
      errors: iv.errors,
      repetition,
      index,
      ms: round3(ms),
      ...recoveryKeys(iv),
    });
  }
  return out;
}

/**
 * Combines timelines of parts that ran side by side (hosts): entries with the same step,
 * repetition and interval index add up. Entries without interval histograms (version 1) cannot
 * be combined exactly: InputError.
 */
export function reduceTimelines(parts: TimelineEntry[][]): TimelineEntry[] {
  const byKey = new Map<
    string,
    { step: number; repetition: number; index: number; acc: IntervalAccumulator }
  >();
  for (const entries of parts) {
    entries.forEach((e, i) => {
      if (e.repetition === undefined || e.index === undefined || e.ms === undefined) {
        throw new InputError(
          `timeline[${i}]: no interval index (a schemaVersion 1 result): cannot combine it`,
        );
      }
      const key = `${e.step}/${e.repetition}/${e.index}`;
      let slot = byKey.get(key);
      if (slot === undefined) {
        slot = { step: e.step, repetition: e.repetition, index: e.index, acc: newIntervalAccumulator() };
        byKey.set(key, slot);
      }
      for (const op of ["read", "write"] as const) {
        const o = e[op];
        if (o.histogram === undefined || o.ios === undefined || o.bytes === undefined) {
          throw new InputError(`timeline[${i}].${op}: no interval histogram: cannot combine it`);
        }
        addEncodedOp(slot.acc[op], { ios: o.ios, bytes: o.bytes, latency: o.histogram, service: "" });
      }
      slot.acc.errors += e.errors;
      slot.acc.ms = Math.max(slot.acc.ms, e.ms);
      if (e.outageMs !== undefined || e.reconnects !== undefined) {
        slot.acc.outageMs += e.outageMs ?? 0;
        slot.acc.reconnects += e.reconnects ?? 0;
        slot.acc.hasRecovery = true;
      }
    });
  }
  const slots = [...byKey.values()].sort(
    (a, b) => a.step - b.step || a.repetition - b.repetition || a.index - b.index,
  );
  const out: TimelineEntry[] = [];
  let t = 0;
  for (const s of slots) {
    const ms = s.acc.ms > 0 ? s.acc.ms : 1000;
    t += ms / 1000;
    out.push({
      t: round3(t),
      step: s.step,
      read: timelineOp(s.acc.read, ms),
      write: timelineOp(s.acc.write, ms),
      errors: s.acc.errors,
      repetition: s.repetition,
      index: s.index,
      ms: round3(ms),
      ...recoveryKeys(s.acc),
    });
  }
  return out;
}

function combineTime(seconds: number[], mode: TimeMode): number {
  if (seconds.length === 0) return 0;
  return mode === "parallel" ? Math.max(...seconds) : seconds.reduce((a, b) => a + b, 0);
}

function reduceOpOf<T extends { read: OpSummary; write: OpSummary }>(
  parts: T[],
  op: OpName,
  seconds: number,
  where: (i: number) => string,
): OpSummary {
  return reduceOps(
    parts.map((p, i) => encodedOpOf(p[op], `${where(i)}.${op}`)),
    seconds,
  );
}

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
] as const satisfies ReadonlyArray<keyof RecoveryReport>;

export function newRecoveryReport(): RecoveryReport {
  return Object.fromEntries(RECOVERY_KEYS.map((k) => [k, 0])) as RecoveryReport;
}

/** Adds one part's recovery counts into `into` (every key summed; outage in session-milliseconds). */
export function addRecovery(into: RecoveryReport, part: RecoveryReport): void {
  for (const k of RECOVERY_KEYS) into[k] += part[k];
}

/**
 * The recovery of parts (workers, repetitions, jobs, hosts): the sums. Undefined when some part
 * has none (a file before schemaVersion 3): a total of only some parts would be wrong.
 */
export function reduceRecovery(parts: ReadonlyArray<RecoveryReport | undefined>): RecoveryReport | undefined {
  const out = newRecoveryReport();
  for (const p of parts) {
    if (p === undefined) return undefined;
    addRecovery(out, p);
  }
  out.outageMs = Math.round(out.outageMs);
  return out;
}

/** `{ recovery }` when the parts have it, else nothing (so that no key is invented). */
function recoveryOf(parts: ReadonlyArray<{ recovery?: RecoveryReport }>): { recovery?: RecoveryReport } {
  if (parts.length === 0) return {};
  const r = reduceRecovery(parts.map((p) => p.recovery));
  return r === undefined ? {} : { recovery: r };
}

/** The total of a step's repetitions (they ran one after another). */
export function reduceRepetitions(reps: JobRepetition[]): {
  durationSec: number;
  read: OpSummary;
  write: OpSummary;
  errors: number;
  recovery?: RecoveryReport;
} {
  const sec = combineTime(
    reps.map((r) => r.durationSec),
    "sequential",
  );
  return {
    durationSec: round3(sec),
    read: reduceOpOf(reps, "read", sec, (i) => `repetitions[${i}]`),
    write: reduceOpOf(reps, "write", sec, (i) => `repetitions[${i}]`),
    errors: reps.reduce((n, r) => n + r.errors, 0),
    ...recoveryOf(reps),
  };
}

export function addSenseCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function reduceVerify(parts: VerifySummary[]): VerifySummary {
  const failures: VerifyMismatchReport[] = [];
  for (const p of parts)
    for (const f of p.failures) if (failures.length < MAX_VERIFY_FAILURES) failures.push(f);
  return {
    enabled: parts.some((p) => p.enabled),
    blocksChecked: parts.reduce((n, p) => n + p.blocksChecked, 0),
    mismatches: parts.reduce((n, p) => n + p.mismatches, 0),
    failures,
  };
}

/**
 * The run summary from its job steps: steps ran one after another, the jobs of one step side by
 * side, so the measured time is the sum over steps of each step's longest job.
 */
export function reduceSummary(jobs: JobResult[]): { durationSec: number; summary: RunSummary } {
  const stepSec = new Map<number, number>();
  for (const j of jobs) stepSec.set(j.step, Math.max(stepSec.get(j.step) ?? 0, j.durationSec));
  const sec = combineTime([...stepSec.values()], "sequential");
  const errorsBySense: Record<string, number> = {};
  for (const j of jobs) addSenseCounts(errorsBySense, j.errorsBySense);
  return {
    durationSec: round3(sec),
    summary: {
      read: reduceOpOf(jobs, "read", sec, (i) => `jobs[${i}]`),
      write: reduceOpOf(jobs, "write", sec, (i) => `jobs[${i}]`),
      errors: jobs.reduce((n, j) => n + j.errors, 0),
      errorsBySense,
      reconnects: jobs.reduce((n, j) => n + j.reconnects, 0),
      verify: reduceVerify(jobs.map((j) => j.verify)),
      ...recoveryOf(jobs),
    },
  };
}

/**
 * Combines the same job step measured by parts that ran side by side (the hosts of a sharded
 * workload): counters and histograms add up, per repetition too; time is the longest part's.
 */
export function reduceParallelJobs(parts: JobResult[]): JobResult {
  if (parts.length === 0) throw new RangeError("reduceParallelJobs: no parts");
  const first = parts[0]!;
  const errorsBySense: Record<string, number> = {};
  for (const p of parts) addSenseCounts(errorsBySense, p.errorsBySense);
  const rates = parts.map((p) => p.rate).filter((r) => r !== null);
  let repetitions: JobRepetition[] | undefined;
  if (parts.every((p) => p.repetitions !== undefined)) {
    const count = first.repetitions!.length;
    parts.forEach((p, i) => {
      if (p.repetitions!.length !== count) {
        throw new InputError(
          `part ${i}: ${p.repetitions!.length} repetitions of ${p.name} step ${p.step}, part 0 has ${count}: cannot combine them`,
        );
      }
    });
    repetitions = [];
    for (let r = 0; r < count; r++) {
      const reps = parts.map((p) => p.repetitions![r]!);
      const rsec = combineTime(
        reps.map((x) => x.durationSec),
        "parallel",
      );
      const intervals = new Map<number, IntervalAccumulator>();
      for (const x of reps) {
        for (const iv of x.intervals) {
          addIntervalPart(intervals, iv.index, {
            read: { ios: iv.read.ios, bytes: iv.read.bytes, latency: iv.read.histogram, service: "" },
            write: { ios: iv.write.ios, bytes: iv.write.bytes, latency: iv.write.histogram, service: "" },
            errors: iv.errors,
            ms: iv.ms,
            outageMs: iv.outageMs,
            reconnects: iv.reconnects,
          });
        }
      }
      repetitions.push({
        repetition: r,
        durationSec: round3(rsec),
        read: reduceOpOf(reps, "read", rsec, (i) => `part ${i} repetitions[${r}]`),
        write: reduceOpOf(reps, "write", rsec, (i) => `part ${i} repetitions[${r}]`),
        errors: reps.reduce((n, x) => n + x.errors, 0),
        intervals: intervalsOf(intervals),
        ...recoveryOf(reps),
      });
    }
  }
  // Side by side, repetition by repetition: the whole lasts the sum of each repetition's longest
  // part (repetitions ran one after another), so the job stays the exact total of its repetitions.
  // Without repetitions (version 1 parts), the longest part's time.
  const sec =
    repetitions !== undefined
      ? combineTime(
          repetitions.map((r) => r.durationSec),
          "sequential",
        )
      : combineTime(
          parts.map((p) => p.durationSec),
          "parallel",
        );
  return {
    name: first.name,
    phase: first.phase,
    step: first.step,
    queueDepth: first.queueDepth,
    workers: parts.reduce((n, p) => n + p.workers, 0),
    durationSec: round3(sec),
    read: reduceOpOf(parts, "read", sec, (i) => `part ${i}`),
    write: reduceOpOf(parts, "write", sec, (i) => `part ${i}`),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    errorsBySense,
    reconnects: parts.reduce((n, p) => n + p.reconnects, 0),
    rate:
      rates.length === 0
        ? null
        : {
            iops: sumOrNull(rates.map((r) => r.iops)),
            bytesPerSec: sumOrNull(rates.map((r) => r.bytesPerSec)),
            keptUp: rates.every((r) => r.keptUp),
            maxLagMs: Math.max(...rates.map((r) => r.maxLagMs)),
          },
    verify: reduceVerify(parts.map((p) => p.verify)),
    ...(repetitions !== undefined ? { repetitions } : {}),
    ...recoveryOf(parts),
  };
}

function sumOrNull(xs: Array<number | null>): number | null {
  return xs.some((x) => x === null) ? null : xs.reduce<number>((a, b) => a + (b ?? 0), 0);
}
