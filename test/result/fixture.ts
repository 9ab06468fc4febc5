/**
 * Result fixtures built the way the runner builds them: recorded histograms per interval, the
 * intervals reduced into repetitions, the repetitions into a job step, the steps into the run
 * (src/result/reduce.ts and build.ts). Values are deterministic.
 */

import { buildResult } from "../../src/result/build.js";
import { recordUs } from "../../src/result/histogram.js";
import { encodeOp, newOpAccumulator, type OpAccumulator, summarizeOp } from "../../src/result/op.js";
import {
  addIntervalPart,
  type IntervalAccumulator,
  intervalsOf,
  newRecoveryReport,
  reduceRepetitions,
  summarizeAccumulator,
  timelineOf,
} from "../../src/result/reduce.js";
import type { JobRepetition, JobResult, RunResult, TimelineEntry } from "../../src/result/types.js";
import type { ResolvedWorkload } from "../../src/workload/types.js";
import { resolvedJob } from "../helpers/workload-fixtures.js";

export const workload: ResolvedWorkload = {
  name: "seq-read",
  description: "test",
  target: "iscsi://alice%s3cr3t@127.0.0.1:3260/iqn.2026-11.io.example:disk/0",
  durationMs: 2000,
  rampTimeMs: 0,
  phaseCount: 1,
  jobs: [
    resolvedJob({
      name: "reader",
      pattern: "sequential",
      blockSizes: [{ bytes: 131072, weight: 1 }],
      queueDepths: [32],
    }),
  ],
};

/** An OP of `ios` I/Os of `bytesPerIo` with latencies baseUs .. baseUs+99 over `seconds`. */
export function op(ios: number, bytesPerIo: number, baseUs: number, seconds: number) {
  const acc = opAccumulator(ios, bytesPerIo, baseUs);
  return summarizeOp(acc.latency, acc.service, ios, ios * bytesPerIo, seconds);
}

export function opAccumulator(ios: number, bytesPerIo: number, baseUs: number): OpAccumulator {
  const acc = newOpAccumulator();
  for (let i = 0; i < ios; i++) {
    recordUs(acc.latency, baseUs + (i % 100));
    recordUs(acc.service, baseUs + (i % 100));
  }
  acc.ios = ios;
  acc.bytes = ios * bytesPerIo;
  return acc;
}

export interface FixtureSecond {
  ios: number;
  baseUs: number;
  errors?: number;
  /** Milliseconds of the second without a session, and reconnects in it (default 0). */
  outageMs?: number;
  reconnects?: number;
}

/** A repetition of one job from its seconds (reads only), as the runner reduces it. */
export function repetition(
  index: number,
  seconds: FixtureSecond[],
  bytesPerIo: number,
): {
  rep: JobRepetition;
  intervals: Map<number, IntervalAccumulator>;
} {
  const intervals = new Map<number, IntervalAccumulator>();
  const total = newOpAccumulator();
  const none = newOpAccumulator();
  let errors = 0;
  let outageMs = 0;
  let reconnects = 0;
  seconds.forEach((s, i) => {
    const acc = opAccumulator(s.ios, bytesPerIo, s.baseUs);
    const read = encodeOp(acc);
    addIntervalPart(intervals, i, {
      read,
      write: encodeOp(none),
      errors: s.errors ?? 0,
      ms: 1000,
      outageMs: s.outageMs ?? 0,
      reconnects: s.reconnects ?? 0,
    });
    outageMs += s.outageMs ?? 0;
    reconnects += s.reconnects ?? 0;
    total.ios += acc.ios;
    total.bytes += acc.bytes;
    total.latency.add(acc.latency);
    total.service.add(acc.service);
    errors += s.errors ?? 0;
  });
  const sec = seconds.length;
  return {
    rep: {
      repetition: index,
      durationSec: sec,
      read: summarizeAccumulator(total, sec),
      write: summarizeAccumulator(none, sec),
      errors,
      intervals: intervalsOf(intervals),
      recovery: { ...newRecoveryReport(), reconnects, reinstatements: reconnects, outageMs },
    },
    intervals,
  };
}

export interface FixtureOptions {
  /** Per repetition, per second: I/Os and base latency. Default: one repetition of 2 s x 1000. */
  reps?: FixtureSecond[][];
  workload?: ResolvedWorkload;
  errorsBySense?: Record<string, number>;
}

/** A whole result of the `reader` job of `workload`, built through the reducer. */
export function buildFixtureResult(o: FixtureOptions = {}): RunResult {
  const w = o.workload ?? workload;
  const bytesPerIo = w.jobs[0]!.blockSizes[0]!.bytes;
  const repSeconds = o.reps ?? [
    [
      { ios: 1000, baseUs: 400 },
      { ios: 1000, baseUs: 400, errors: 1 },
    ],
  ];
  const reps: JobRepetition[] = [];
  const timeline: TimelineEntry[] = [];
  let t = 0;
  repSeconds.forEach((seconds, r) => {
    const { rep, intervals } = repetition(r, seconds, bytesPerIo);
    reps.push(rep);
    timeline.push(...timelineOf(intervals, 0, r, t));
    t += rep.durationSec;
  });
  const { recovery, ...total } = reduceRepetitions(reps);
  const errorsBySense = o.errorsBySense ?? { "MEDIUM ERROR: UNRECOVERED READ ERROR": total.errors };
  const job: JobResult = {
    name: w.jobs[0]!.name,
    phase: 0,
    step: 0,
    queueDepth: w.jobs[0]!.queueDepths[0]!,
    workers: 1,
    ...total,
    errorsBySense: total.errors > 0 ? errorsBySense : {},
    reconnects: recovery?.reconnects ?? 0,
    rate: null,
    verify: { enabled: false, blocksChecked: 0, mismatches: 0, failures: [] },
    repetitions: reps,
    recovery,
  };
  return buildResult({
    workload: w,
    startedAt: new Date(2026, 10, 25, 9, 5, 7),
    interrupted: false,
    stopReason: null,
    target: {
      url: w.target ?? "iscsi://127.0.0.1:3260/iqn.2026-11.io.iscsi-bench:target/0",
      builtin: false,
      lun: 0,
      vendor: "ISCSIBEN",
      product: "MEMORY",
      revision: "0001",
      blockSize: 512,
      capacityBytes: 1 << 30,
      negotiated: null,
    },
    jobs: [job],
    timeline,
    repeat: repSeconds.length,
  });
}

/** The default fixture: 2 s of 1000 reads a second of 128 KiB, one error. */
export function sampleResult(): RunResult {
  return buildFixtureResult();
}
