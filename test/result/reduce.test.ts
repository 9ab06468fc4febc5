import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { readResult } from "../../src/result/file.js";
import {
  decodeHistogram,
  encodeHistogram,
  type Histogram,
  latencyStats,
  newLatencyHistogram,
  recordUs,
} from "../../src/result/histogram.js";
import { encodeOp, newOpAccumulator, type OpAccumulator } from "../../src/result/op.js";
import {
  addEncodedOp,
  addIntervalPart,
  encodedOpOf,
  type IntervalAccumulator,
  intervalsOf,
  MAX_VERIFY_FAILURES,
  newRecoveryReport,
  reduceOps,
  reduceParallelJobs,
  reduceRecovery,
  reduceRepetitions,
  reduceSummary,
  reduceTimelines,
  reduceVerify,
  summarizeAccumulator,
  timelineOf,
} from "../../src/result/reduce.js";
import type {
  JobRepetition,
  JobResult,
  RecoveryReport,
  TimelineEntry,
  VerifyMismatchReport,
  VerifySummary,
} from "../../src/result/types.js";
import { latencyValues } from "../helpers/latency-values.js";
import { buildFixtureResult } from "./fixture.js";

/** A real schemaVersion 1 file (iscsi-bench 0.1.0, seq-read, 1 s). */
const V1_FILE = new URL("./fixtures/v1-seq-read.json", import.meta.url).pathname;

const values = (n: number, seed: number): number[] => latencyValues(n, seed, 8);

const PERCENTILES = [0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

/** Latency figures and percentiles of `h`, for comparing a reduced histogram to a reference. */
function figures(h: Histogram): unknown {
  return {
    count: h.totalCount,
    stats: latencyStats(h),
    percentiles: PERCENTILES.map((p) => h.getValueAtPercentile(p)),
  };
}

/** An accumulator with `lat` as latencies and half of each as service times, `bytesPerIo` each. */
function accOf(lat: number[], bytesPerIo: number): OpAccumulator {
  const acc = newOpAccumulator();
  for (const v of lat) {
    recordUs(acc.latency, v);
    recordUs(acc.service, v / 2);
  }
  acc.ios = lat.length;
  acc.bytes = lat.length * bytesPerIo;
  return acc;
}

/** One histogram fed every value of every part: the reference a reduction must equal. */
function reference(parts: number[][], scale = 1): Histogram {
  const h = newLatencyHistogram();
  for (const vs of parts) for (const v of vs) recordUs(h, v * scale);
  return h;
}

const EMPTY = summarizeAccumulator(newOpAccumulator(), 0);

const noVerify = (): VerifySummary => ({ enabled: false, blocksChecked: 0, mismatches: 0, failures: [] });

function repetitionOf(r: number, durationSec: number, lat: number[], errors = 0): JobRepetition {
  return {
    repetition: r,
    durationSec,
    read: summarizeAccumulator(accOf(lat, 4096), durationSec),
    write: EMPTY,
    errors,
    intervals: [],
  };
}

interface JobSpec {
  name?: string;
  step?: number;
  durationSec: number;
  read: number[];
  write?: number[];
  workers?: number;
  errors?: number;
  errorsBySense?: Record<string, number>;
  reconnects?: number;
  verify?: VerifySummary;
  rate?: JobResult["rate"];
  repetitions?: JobRepetition[];
}

function jobOf(s: JobSpec): JobResult {
  return {
    name: s.name ?? "j",
    phase: 0,
    step: s.step ?? 0,
    queueDepth: 8,
    workers: s.workers ?? 1,
    durationSec: s.durationSec,
    read: summarizeAccumulator(accOf(s.read, 4096), s.durationSec),
    write: summarizeAccumulator(accOf(s.write ?? [], 65536), s.durationSec),
    errors: s.errors ?? 0,
    errorsBySense: s.errorsBySense ?? {},
    reconnects: s.reconnects ?? 0,
    rate: s.rate ?? null,
    verify: s.verify ?? noVerify(),
    ...(s.repetitions !== undefined ? { repetitions: s.repetitions } : {}),
  };
}

function failures(n: number, job: string): VerifyMismatchReport[] {
  return Array.from({ length: n }, (_, i) => ({
    job,
    lba: i,
    kind: "stale" as const,
    expectedGeneration: 2,
    foundGeneration: 1,
  }));
}

function expectInputError(f: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as Error).message).toMatch(message);
}

describe("histograms are added exactly", () => {
  const parts = [values(9000, 1), values(4000, 2), values(12000, 3), values(1, 4), values(5000, 5)];

  it("reduceOps: the percentiles of the whole are those of one histogram fed every value", () => {
    const encoded = parts.map((vs) => encodeOp(accOf(vs, 4096)));
    const whole = reduceOps(encoded, 10);
    const lat = reference(parts);
    const svc = reference(parts, 0.5);
    expect(lat.totalCount).toBe(30001);
    expect(figures(decodeHistogram(whole.histogram))).toEqual(figures(lat));
    expect(figures(decodeHistogram(whole.serviceHistogram!))).toEqual(figures(svc));
    expect(whole.latencyUs).toEqual(latencyStats(lat));
    expect(whole.serviceTimeUs).toEqual(latencyStats(svc));
    // the values really span microseconds to seconds, and the two histograms differ
    expect(whole.latencyUs.min).toBe(1);
    expect(whole.latencyUs.max).toBeGreaterThan(5_000_000);
    expect(whole.serviceTimeUs.p90).toBeLessThan(whole.latencyUs.p90);
    expect(whole.histogram).toBe(encodeHistogram(lat));
  });

  it("reduceOps: the order of the parts does not matter, and counters are summed", () => {
    const encoded = parts.map((vs, i) => encodeOp(accOf(vs, 512 * (i + 1))));
    const a = reduceOps(encoded, 4);
    const b = reduceOps([...encoded].reverse(), 4);
    expect(b).toEqual(a);
    const bytes = parts.reduce((n, vs, i) => n + vs.length * 512 * (i + 1), 0);
    expect(a.ios).toBe(30001);
    expect(a.bytes).toBe(bytes);
    expect(a.iops).toBe(Math.round((30001 / 4) * 100) / 100);
    expect(a.bytesPerSec).toBe(Math.round(bytes / 4));
  });

  it("reduceOps: no time gives zero rates, no parts an empty OP", () => {
    const a = reduceOps([encodeOp(accOf(parts[0]!, 4096))], 0);
    expect(a.ios).toBe(9000);
    expect(a.iops).toBe(0);
    expect(a.bytesPerSec).toBe(0);
    const none = reduceOps([], 3);
    expect(none.ios).toBe(0);
    expect(none.latencyUs.p99).toBe(0);
    expect(decodeHistogram(none.histogram).totalCount).toBe(0);
  });

  it('addEncodedOp: "" is no histogram (an interval keeps only the latency one)', () => {
    const acc = newOpAccumulator();
    const e = encodeOp(accOf(parts[1]!, 4096));
    addEncodedOp(acc, { ...e, service: "" });
    addEncodedOp(acc, { ...e, latency: "" });
    expect(acc.ios).toBe(8000);
    expect(acc.bytes).toBe(8000 * 4096);
    expect(acc.latency.totalCount).toBe(4000);
    expect(acc.service.totalCount).toBe(4000);
  });
});

describe("encodedOpOf", () => {
  it("gives the OP's counters and both histograms", () => {
    const op = summarizeAccumulator(accOf([10, 20, 30], 4096), 1);
    expect(encodedOpOf(op, "x")).toEqual({
      ios: 3,
      bytes: 3 * 4096,
      latency: op.histogram,
      service: op.serviceHistogram,
    });
  });

  it("refuses an OP without serviceHistogram (a real schemaVersion 1 file) with an InputError", () => {
    const v1 = readResult(V1_FILE).result;
    expectInputError(
      () => encodedOpOf(v1.summary.read, "a.json: summary.read"),
      /^a\.json: summary\.read: no serviceHistogram \(a schemaVersion 1 result\): cannot combine it$/,
    );
    // and so do the reducers built on it, naming the part
    expectInputError(() => reduceSummary(v1.jobs), /^jobs\[0\]\.read: no serviceHistogram/);
    const { serviceHistogram: _, ...v1op } = summarizeAccumulator(accOf([5], 1), 1);
    const v1rep: JobRepetition = { ...repetitionOf(0, 1, [5]), write: v1op };
    expectInputError(
      () => reduceRepetitions([repetitionOf(0, 1, [5]), v1rep]),
      /^repetitions\[1\]\.write: no serviceHistogram/,
    );
  });
});

describe("time: sequential parts add up, parallel parts take the longest", () => {
  const lat = [values(3000, 11), values(5000, 12), values(2000, 13)];

  it("reduceRepetitions sums durations; its iops is total I/Os over total seconds", () => {
    const reps = [
      repetitionOf(0, 2, lat[0]!, 1),
      repetitionOf(1, 1.5, lat[1]!),
      repetitionOf(2, 2.5, lat[2]!, 4),
    ];
    const total = reduceRepetitions(reps);
    expect(total.durationSec).toBe(6);
    expect(total.read.ios).toBe(10000);
    expect(total.read.bytes).toBe(10000 * 4096);
    expect(total.read.iops).toBe(Math.round((10000 / 6) * 100) / 100);
    expect(total.read.bytesPerSec).toBe(Math.round((10000 * 4096) / 6));
    // not the mean of the repetitions' iops (1500, 3333.33, 800)
    expect(total.read.iops).not.toBeCloseTo((1500 + 5000 / 1.5 + 800) / 3, 0);
    expect(total.errors).toBe(5);
    expect(figures(decodeHistogram(total.read.histogram))).toEqual(figures(reference(lat)));
    expect(figures(decodeHistogram(total.read.serviceHistogram!))).toEqual(figures(reference(lat, 0.5)));
    expect(total.write.ios).toBe(0);
  });

  it("reduceRepetitions rounds the summed time to the millisecond", () => {
    const total = reduceRepetitions([repetitionOf(0, 1.0004, [1]), repetitionOf(1, 1.0004, [1])]);
    expect(total.durationSec).toBe(2.001);
    expect(reduceRepetitions([]).durationSec).toBe(0);
  });

  it("reduceParallelJobs takes the longest time, sums workers and counters, adds histograms", () => {
    const a = jobOf({
      name: "reader",
      step: 3,
      durationSec: 2,
      read: lat[0]!,
      write: [100, 200],
      workers: 2,
      errors: 1,
      errorsBySense: { "MEDIUM ERROR": 1 },
      reconnects: 1,
    });
    const b = jobOf({
      name: "reader",
      step: 3,
      durationSec: 2.5,
      read: lat[1]!,
      workers: 3,
      errors: 3,
      errorsBySense: { "MEDIUM ERROR": 2, "TRANSPORT: reset": 1 },
      reconnects: 2,
    });
    const whole = reduceParallelJobs([a, b]);
    expect(whole).toMatchObject({
      name: "reader",
      phase: 0,
      step: 3,
      queueDepth: 8,
      workers: 5,
      durationSec: 2.5,
      errors: 4,
      errorsBySense: { "MEDIUM ERROR": 3, "TRANSPORT: reset": 1 },
      reconnects: 3,
      rate: null,
    });
    expect(whole.read.ios).toBe(8000);
    expect(whole.read.iops).toBe(3200); // 8000 over the longest 2.5 s, not over 4.5 s
    expect(whole.read.bytesPerSec).toBe(Math.round((8000 * 4096) / 2.5));
    expect(whole.write.ios).toBe(2);
    expect(whole.write.bytes).toBe(2 * 65536);
    expect(figures(decodeHistogram(whole.read.histogram))).toEqual(figures(reference([lat[0]!, lat[1]!])));
    expect(whole.repetitions).toBeUndefined(); // the parts have none: none are invented
    expect(() => reduceParallelJobs([])).toThrow(RangeError);
  });

  it("reduceParallelJobs: rates add up, keptUp only if every part kept up, the largest lag", () => {
    const rate = (iops: number | null, keptUp: boolean, maxLagMs: number): JobResult["rate"] => ({
      iops,
      bytesPerSec: null,
      keptUp,
      maxLagMs,
    });
    const r = reduceParallelJobs([
      jobOf({ durationSec: 1, read: [1], rate: rate(500, true, 3) }),
      jobOf({ durationSec: 1, read: [1], rate: rate(700, false, 12) }),
    ]).rate;
    expect(r).toEqual({ iops: 1200, bytesPerSec: null, keptUp: false, maxLagMs: 12 });
  });

  it("reduceParallelJobs combines repetitions index by index, and their intervals by interval index", () => {
    const intervalsOfHost = (
      host: number,
      seconds: number[][],
      lastMs: number,
    ): JobRepetition["intervals"] => {
      const m = new Map<number, IntervalAccumulator>();
      seconds.forEach((vs, i) => {
        addIntervalPart(m, i, {
          read: encodeOp(accOf(vs, 4096)),
          write: encodeOp(newOpAccumulator()),
          errors: host,
          ms: i === seconds.length - 1 ? lastMs : 1000,
        });
      });
      return intervalsOf(m);
    };
    const secA = [values(700, 21), values(800, 22)];
    const secB = [values(900, 23), values(600, 24), values(50, 25)];
    const repA = {
      ...repetitionOf(0, 2, [...secA[0]!, ...secA[1]!]),
      intervals: intervalsOfHost(1, secA, 1000),
    };
    const repB = { ...repetitionOf(0, 2.4, [...secB.flat()]), intervals: intervalsOfHost(2, secB, 400) };
    const a = jobOf({ durationSec: 2, read: secA.flat(), repetitions: [repA] });
    const b = jobOf({ durationSec: 2.4, read: secB.flat(), repetitions: [repB] });
    const whole = reduceParallelJobs([a, b]);
    const rep = whole.repetitions![0]!;
    expect(rep.durationSec).toBe(2.4);
    expect(rep.read.ios).toBe(1500 + 1550);
    expect(rep.read.iops).toBe(Math.round((3050 / 2.4) * 100) / 100);
    expect(rep.errors).toBe(0);
    expect(rep.intervals.map((iv) => [iv.index, iv.startSec, iv.ms, iv.read.ios, iv.errors])).toEqual([
      [0, 0, 1000, 1600, 3],
      [1, 1, 1000, 1400, 3],
      [2, 2, 400, 50, 2],
    ]);
    expect(figures(decodeHistogram(rep.intervals[1]!.read.histogram))).toEqual(
      figures(reference([secA[1]!, secB[1]!])),
    );
    // the job's total matches its only repetition
    expect(whole.read.ios).toBe(rep.read.ios);
    expect(whole.durationSec).toBe(rep.durationSec);
  });

  it("reduceParallelJobs keeps no repetitions when a part (version 1) has none", () => {
    const withReps = jobOf({ durationSec: 1, read: [5], repetitions: [repetitionOf(0, 1, [5])] });
    const without = jobOf({ durationSec: 1, read: [6] });
    const whole = reduceParallelJobs([withReps, without]);
    expect(whole).not.toHaveProperty("repetitions");
    expect(whole.read.ios).toBe(2);
  });

  // The job entry is the exact total of its repetitions (as the runner's jobResult makes it): each
  // combined repetition lasts its longest part, and the job the sum of those, not the longest of
  // the parts' totals (sum(max) > max(sum) when the hosts' repetitions differ in length).
  it("reduceParallelJobs: the job's time is the total of its combined repetitions", () => {
    const a = jobOf({
      durationSec: 3,
      read: [...values(200, 31), ...values(100, 32)],
      repetitions: [repetitionOf(0, 2, values(200, 31)), repetitionOf(1, 1, values(100, 32))],
    });
    const b = jobOf({
      durationSec: 3,
      read: [...values(100, 33), ...values(200, 34)],
      repetitions: [repetitionOf(0, 1, values(100, 33)), repetitionOf(1, 2, values(200, 34))],
    });
    const whole = reduceParallelJobs([a, b]);
    const fromReps = reduceRepetitions(whole.repetitions!);
    expect(whole.read.ios).toBe(fromReps.read.ios); // holds
    expect(whole.durationSec).toBe(fromReps.durationSec); // 3 vs 4
  });
});

describe("reduceSummary: steps ran one after another, the jobs of a step side by side", () => {
  const lat = [values(4000, 41), values(3000, 42), values(2500, 43), values(500, 44)];
  const jobs = [
    jobOf({ name: "a", step: 0, durationSec: 2, read: lat[0]!, errors: 1, errorsBySense: { X: 1 } }),
    jobOf({ name: "b", step: 0, durationSec: 3, read: lat[1]!, write: [7, 8, 9], reconnects: 2 }),
    jobOf({ name: "a", step: 1, durationSec: 1.5, read: lat[2]!, errors: 2, errorsBySense: { X: 1, Y: 1 } }),
    jobOf({ name: "c", step: 2, durationSec: 0.25, read: lat[3]! }),
  ];

  it("time is the sum over steps of each step's longest job; rates are over that time", () => {
    const { durationSec, summary } = reduceSummary(jobs);
    expect(durationSec).toBe(4.75); // 3 + 1.5 + 0.25, not 6.75 and not 3
    expect(summary.read.ios).toBe(10000);
    expect(summary.read.iops).toBe(Math.round((10000 / 4.75) * 100) / 100);
    expect(summary.write.ios).toBe(3);
    expect(summary.write.bytesPerSec).toBe(Math.round((3 * 65536) / 4.75));
    expect(figures(decodeHistogram(summary.read.histogram))).toEqual(figures(reference(lat)));
    expect(summary.read.latencyUs).toEqual(latencyStats(reference(lat)));
    expect(summary.errors).toBe(3);
    expect(summary.errorsBySense).toEqual({ X: 2, Y: 1 });
    expect(summary.reconnects).toBe(2);
    expect(summary.verify).toEqual(noVerify());
  });

  it("does not depend on the order of the jobs", () => {
    const a = reduceSummary(jobs);
    const b = reduceSummary([jobs[3]!, jobs[1]!, jobs[2]!, jobs[0]!]);
    expect(b.durationSec).toBe(a.durationSec);
    expect(b.summary.read).toEqual(a.summary.read);
    expect(b.summary.errorsBySense).toEqual(a.summary.errorsBySense);
  });

  it("no jobs: zero time and empty OPs", () => {
    const { durationSec, summary } = reduceSummary([]);
    expect(durationSec).toBe(0);
    expect(summary.read.ios).toBe(0);
    expect(summary.errorsBySense).toEqual({});
  });

  it("equals what buildResult records for a fixture built the runner's way", () => {
    const r = buildFixtureResult({
      reps: [
        [
          { ios: 1000, baseUs: 400 },
          { ios: 500, baseUs: 900, errors: 2 },
        ],
        [{ ios: 800, baseUs: 300 }],
      ],
    });
    const { durationSec, summary } = reduceSummary(r.jobs);
    expect(durationSec).toBe(3);
    expect(r.durationSec).toBe(3);
    const { efficiency: _, ...recorded } = r.summary; // buildResult adds the link efficiency
    expect(summary).toEqual(recorded);
    expect(summary.read.ios).toBe(2300);
    expect(summary.errors).toBe(2);
  });
});

describe("reduceVerify", () => {
  it("sums the counts and keeps the first 100 failures in order", () => {
    const parts: VerifySummary[] = [
      { enabled: true, blocksChecked: 1000, mismatches: 60, failures: failures(60, "a") },
      { enabled: false, blocksChecked: 0, mismatches: 0, failures: [] },
      { enabled: true, blocksChecked: 500, mismatches: 75, failures: failures(50, "b") },
      { enabled: true, blocksChecked: 20, mismatches: 10, failures: failures(10, "c") },
    ];
    const v = reduceVerify(parts);
    expect(MAX_VERIFY_FAILURES).toBe(100);
    expect(v.enabled).toBe(true);
    expect(v.blocksChecked).toBe(1520);
    expect(v.mismatches).toBe(145); // the count is exact, only the list is capped
    expect(v.failures).toHaveLength(100);
    expect(v.failures.slice(0, 60)).toEqual(failures(60, "a"));
    expect(v.failures.slice(60)).toEqual(failures(40, "b"));
    expect(v.failures.some((f) => f.job === "c")).toBe(false);
  });

  it("is disabled when no part verified, and empty for no parts", () => {
    expect(reduceVerify([noVerify(), noVerify()]).enabled).toBe(false);
    expect(reduceVerify([])).toEqual(noVerify());
  });

  it("caps the run summary's failures too", () => {
    const jobs = [0, 1].map((step) =>
      jobOf({
        step,
        durationSec: 1,
        read: [1],
        verify: { enabled: true, blocksChecked: 10, mismatches: 80, failures: failures(80, `j${step}`) },
      }),
    );
    const v = reduceSummary(jobs).summary.verify;
    expect(v.mismatches).toBe(160);
    expect(v.failures).toHaveLength(100);
  });
});

describe("intervalsOf and timelineOf", () => {
  /** Two workers per second over 2.45 s, added in a scrambled order, plus their empty final snapshots. */
  function twoWorkers(): { m: Map<number, IntervalAccumulator>; secs: number[][][] } {
    const secs = [
      [values(300, 51), values(200, 52)],
      [values(250, 53), values(350, 54)],
      [values(100, 55), values(120, 56)],
    ];
    const ms = [
      [1000, 998],
      [1000, 1002],
      [450, 449],
    ];
    const m = new Map<number, IntervalAccumulator>();
    const none = encodeOp(newOpAccumulator());
    for (const i of [2, 0, 1]) {
      secs[i]!.forEach((vs, w) => {
        addIntervalPart(m, i, {
          read: encodeOp(accOf(vs, 4096)),
          write: encodeOp(accOf(w === 1 ? [i + 10] : [], 512)),
          errors: w + i,
          ms: ms[i]![w]!,
        });
      });
    }
    // each worker's final snapshot, taken when the last second was already sent: no time, no I/O
    addIntervalPart(m, 3, { read: none, write: none, errors: 0, ms: 0 });
    addIntervalPart(m, 3, { read: none, write: none, errors: 0, ms: 0 });
    return { m, secs };
  }

  it("intervalsOf: in index order, parts added up, the longest part's time, start times, no empty final", () => {
    const { m, secs } = twoWorkers();
    const ivs = intervalsOf(m);
    expect(ivs.map((iv) => [iv.index, iv.startSec, iv.ms, iv.read.ios, iv.write.ios, iv.errors])).toEqual([
      [0, 0, 1000, 500, 1, 1],
      [1, 1, 1002, 600, 1, 3],
      [2, 2.002, 450, 220, 1, 5],
    ]);
    expect(ivs[1]!.read.bytes).toBe(600 * 4096);
    expect(ivs[2]!.write.bytes).toBe(512);
    ivs.forEach((iv, i) => {
      expect(figures(decodeHistogram(iv.read.histogram))).toEqual(figures(reference(secs[i]!)));
    });
    expect(ivs[0]).not.toHaveProperty("serviceHistogram");
  });

  it("intervalsOf keeps a final interval that has I/O or errors, and an empty map gives none", () => {
    const m = new Map<number, IntervalAccumulator>();
    const none = encodeOp(newOpAccumulator());
    addIntervalPart(m, 0, { read: encodeOp(accOf([5, 6], 1)), write: none, errors: 0, ms: 1000 });
    addIntervalPart(m, 1, { read: none, write: none, errors: 1, ms: 0 });
    addIntervalPart(m, 2, { read: none, write: none, errors: 0, ms: 120 });
    const ivs = intervalsOf(m);
    // an interval with errors but neither time nor I/O (a verify read-back's) covers no time
    expect(ivs.map((iv) => [iv.index, iv.startSec, iv.ms, iv.errors])).toEqual([
      [0, 0, 1000, 0],
      [1, 1, 0, 1],
      [2, 1, 120, 0],
    ]);
    // one with I/O but no time (a snapshot in the same millisecond) counts as a second
    const n = new Map<number, IntervalAccumulator>();
    addIntervalPart(n, 0, { read: encodeOp(accOf([5, 6], 1)), write: none, errors: 0, ms: 0 });
    expect(intervalsOf(n).map((iv) => iv.ms)).toEqual([1000]);
    expect(intervalsOf(new Map())).toEqual([]);
  });

  it("timelineOf: t is the end of each interval counted on from the time before, rates over its ms", () => {
    const { m, secs } = twoWorkers();
    const tl = timelineOf(m, 4, 1, 10);
    expect(tl.map((e) => [e.t, e.step, e.repetition, e.index, e.ms, e.errors])).toEqual([
      [11, 4, 1, 0, 1000, 1],
      [12.002, 4, 1, 1, 1002, 3],
      [12.452, 4, 1, 2, 450, 5],
    ]);
    const e = tl[1]!;
    expect(e.read.ios).toBe(600);
    expect(e.read.bytes).toBe(600 * 4096);
    expect(e.read.iops).toBe(Math.round(((600 * 1000) / 1002) * 100) / 100);
    expect(e.read.bytesPerSec).toBe(Math.round((600 * 4096 * 1000) / 1002));
    const h = decodeHistogram(e.read.histogram!);
    expect(figures(h)).toEqual(figures(reference(secs[1]!)));
    expect(e.read.p99Us).toBe(reference(secs[1]!).getValueAtPercentile(99));
    expect(tl[2]!.read.iops).toBe(Math.round(((220 * 1000) / 450) * 100) / 100);
    expect(tl[2]!.write).toMatchObject({ ios: 1, bytes: 512, iops: Math.round((1000 / 450) * 100) / 100 });
  });

  it("timelineOf of nothing is empty; an interval without I/O has zero rates and p99", () => {
    expect(timelineOf(new Map(), 0, 0, 0)).toEqual([]);
    const m = new Map<number, IntervalAccumulator>();
    const none = encodeOp(newOpAccumulator());
    addIntervalPart(m, 0, { read: none, write: none, errors: 0, ms: 1000 });
    const [e] = timelineOf(m, 0, 0, 0);
    expect(e!.read).toMatchObject({ iops: 0, bytesPerSec: 0, p99Us: 0, ios: 0, bytes: 0 });
  });
});

describe("reduceTimelines: hosts side by side, aligned on (step, repetition, index)", () => {
  interface Sec {
    step: number;
    rep: number;
    index: number;
    ms: number;
    lat: number[];
    errors: number;
  }
  /** One host's timeline, built as the runner builds it, from its seconds. */
  function hostTimeline(secs: Sec[], tStart: number): TimelineEntry[] {
    const groups = new Map<string, Sec[]>();
    for (const s of secs) {
      const k = `${s.step}/${s.rep}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const out: TimelineEntry[] = [];
    let t = tStart;
    for (const g of groups.values()) {
      const m = new Map<number, IntervalAccumulator>();
      for (const s of g) {
        addIntervalPart(m, s.index, {
          read: encodeOp(accOf(s.lat, 4096)),
          write: encodeOp(newOpAccumulator()),
          errors: s.errors,
          ms: s.ms,
        });
      }
      const tl = timelineOf(m, g[0]!.step, g[0]!.rep, t);
      out.push(...tl);
      t = tl[tl.length - 1]!.t;
    }
    return out;
  }

  const secA: Sec[] = [
    { step: 0, rep: 0, index: 0, ms: 1000, lat: values(400, 61), errors: 0 },
    { step: 0, rep: 0, index: 1, ms: 1000, lat: values(300, 62), errors: 1 },
    { step: 0, rep: 1, index: 0, ms: 1000, lat: values(350, 63), errors: 0 },
    { step: 1, rep: 0, index: 0, ms: 800, lat: values(100, 64), errors: 0 },
  ];
  const secB: Sec[] = [
    { step: 0, rep: 0, index: 0, ms: 1010, lat: values(500, 71), errors: 2 },
    { step: 0, rep: 0, index: 1, ms: 990, lat: values(200, 72), errors: 0 },
    { step: 0, rep: 0, index: 2, ms: 300, lat: values(40, 73), errors: 0 },
    { step: 0, rep: 1, index: 0, ms: 1000, lat: values(250, 74), errors: 0 },
    { step: 1, rep: 0, index: 0, ms: 900, lat: values(150, 75), errors: 0 },
  ];

  it("adds entries with the same key whatever their t and order, and counts t on from 0", () => {
    // host B started its measurement later: its t values differ, the keys do not
    const a = hostTimeline(secA, 0);
    const b = hostTimeline(secB, 7.5).reverse();
    const tl = reduceTimelines([a, b]);
    expect(tl.map((e) => [e.step, e.repetition, e.index, e.ms, e.read.ios, e.errors, e.t])).toEqual([
      [0, 0, 0, 1010, 900, 2, 1.01],
      [0, 0, 1, 1000, 500, 1, 2.01],
      [0, 0, 2, 300, 40, 0, 2.31],
      [0, 1, 0, 1000, 600, 0, 3.31],
      [1, 0, 0, 900, 250, 0, 4.21],
    ]);
    expect(tl[0]!.read.iops).toBe(Math.round(((900 * 1000) / 1010) * 100) / 100);
    expect(tl[0]!.read.bytes).toBe(900 * 4096);
    const ref = reference([secA[0]!.lat, secB[0]!.lat]);
    expect(figures(decodeHistogram(tl[0]!.read.histogram!))).toEqual(figures(ref));
    expect(tl[0]!.read.p99Us).toBe(ref.getValueAtPercentile(99));
    expect(tl[3]!.read.p99Us).toBe(reference([secA[2]!.lat, secB[3]!.lat]).getValueAtPercentile(99));
    expect(reduceTimelines([b, a])).toEqual(tl);
  });

  it("one host's timeline comes back as it was (whole-second intervals)", () => {
    const r = buildFixtureResult({
      reps: [
        [
          { ios: 1000, baseUs: 400 },
          { ios: 900, baseUs: 800 },
        ],
        [{ ios: 700, baseUs: 300, errors: 1 }],
      ],
    });
    expect(reduceTimelines([r.timeline])).toEqual(r.timeline);
    expect(reduceTimelines([])).toEqual([]);
  });

  it("refuses version 1 entries (a real file) with an InputError", () => {
    const v1 = readResult(V1_FILE).result.timeline;
    expectInputError(
      () => reduceTimelines([v1]),
      /^timeline\[0\]: no interval index \(a schemaVersion 1 result\): cannot combine it$/,
    );
    const v2 = hostTimeline(secA, 0);
    expectInputError(() => reduceTimelines([v2, v1]), /no interval index \(a schemaVersion 1 result\)/);
  });

  it("refuses an entry without its interval histogram or counters", () => {
    const tl = hostTimeline(secA, 0);
    const { histogram: _h, ...readNoHist } = tl[2]!.read;
    const broken = tl.map((e, i) => (i === 2 ? { ...e, read: readNoHist } : e));
    expectInputError(() => reduceTimelines([broken]), /^timeline\[2\]\.read: no interval histogram/);
    const { ios: _i, ...writeNoIos } = tl[0]!.write;
    const broken2 = tl.map((e, i) => (i === 0 ? { ...e, write: writeNoIos } : e));
    expectInputError(() => reduceTimelines([broken2]), /^timeline\[0\]\.write: no interval histogram/);
  });
});

describe("the same values reduced along every path give the same figures", () => {
  it("worker seconds -> intervals -> repetitions -> job -> summary", () => {
    const workerSecs = [0, 1, 2].map((rep) =>
      [0, 1].map((sec) =>
        [0, 1, 2].map((w) => values(300 + 97 * w + 31 * sec, 1000 + rep * 100 + sec * 10 + w)),
      ),
    );
    const reps: JobRepetition[] = workerSecs.map((secs, r) => {
      const m = new Map<number, IntervalAccumulator>();
      const job = newOpAccumulator();
      secs.forEach((workers, i) => {
        for (const vs of workers) {
          const part = encodeOp(accOf(vs, 4096));
          addIntervalPart(m, i, { read: part, write: encodeOp(newOpAccumulator()), errors: 0, ms: 1000 });
          addEncodedOp(job, part);
        }
      });
      return {
        repetition: r,
        durationSec: 2,
        read: summarizeAccumulator(job, 2),
        write: EMPTY,
        errors: 0,
        intervals: intervalsOf(m),
      };
    });
    const total = reduceRepetitions(reps);
    const all = workerSecs.flat(2);
    const ref = reference(all);
    expect(total.durationSec).toBe(6);
    expect(total.read.ios).toBe(ref.totalCount);
    expect(figures(decodeHistogram(total.read.histogram))).toEqual(figures(ref));
    // the intervals of every repetition add up to the same whole
    const fromIntervals = reduceOps(
      reps.flatMap((r) =>
        r.intervals.map((iv) => ({
          ios: iv.read.ios,
          bytes: iv.read.bytes,
          latency: iv.read.histogram,
          service: "",
        })),
      ),
      6,
    );
    expect(fromIntervals.ios).toBe(total.read.ios);
    expect(fromIntervals.latencyUs).toEqual(total.read.latencyUs);
    const job: JobResult = { ...jobOf({ durationSec: 6, read: [] }), ...total, repetitions: reps };
    const { summary } = reduceSummary([job]);
    expect(summary.read).toEqual(total.read);
  });
});

describe("recovery counters (schemaVersion 3): summed over workers, intervals, repetitions, jobs", () => {
  const rec = (over: Partial<RecoveryReport>): RecoveryReport => ({ ...newRecoveryReport(), ...over });

  it("reduceRecovery sums every key; a part without recovery (an older file) gives none", () => {
    const a = rec({ reconnects: 2, reinstatements: 2, reissued: 9, outageMs: 1200.4, recoveredBlocks: 16 });
    const b = rec({
      reconnects: 1,
      reinstatements: 1,
      aborts: 3,
      commandTimeouts: 3,
      unitAttentions: 1,
      busyRetries: 5,
      outageMs: 300,
    });
    expect(reduceRecovery([a, b])).toEqual({
      reconnects: 3,
      reinstatements: 3,
      reissued: 9,
      aborts: 3,
      commandTimeouts: 3,
      unitAttentions: 1,
      busyRetries: 5,
      outageMs: 1500,
      recoveredBlocks: 16,
    });
    expect(reduceRecovery([a, undefined])).toBeUndefined();
    expect(reduceRecovery([])).toEqual(newRecoveryReport());
  });

  it("repetitions, parallel parts and the summary add up; older parts get no recovery key", () => {
    const rep = (r: number, o: Partial<RecoveryReport>): JobRepetition => ({
      ...repetitionOf(r, 1, values(50, 90 + r)),
      recovery: rec(o),
    });
    const total = reduceRepetitions([rep(0, { reconnects: 1, outageMs: 100 }), rep(1, { reissued: 4 })]);
    expect(total.recovery).toEqual(rec({ reconnects: 1, outageMs: 100, reissued: 4 }));
    expect("recovery" in reduceRepetitions([repetitionOf(0, 1, values(10, 1))])).toBe(false);

    const jobA = {
      ...jobOf({
        durationSec: 1,
        read: values(20, 3),
        repetitions: [rep(0, { reconnects: 2, outageMs: 50 })],
      }),
      recovery: rec({ reconnects: 2, outageMs: 50 }),
    };
    const jobB = {
      ...jobOf({ durationSec: 1, read: values(20, 4), repetitions: [rep(0, { busyRetries: 7 })] }),
      recovery: rec({ busyRetries: 7 }),
    };
    const both = reduceParallelJobs([jobA, jobB]);
    expect(both.recovery).toEqual(rec({ reconnects: 2, outageMs: 50, busyRetries: 7 }));
    expect(both.repetitions![0]!.recovery).toEqual(rec({ reconnects: 2, outageMs: 50, busyRetries: 7 }));
    const { summary } = reduceSummary([jobA, { ...jobB, step: 1 }]);
    expect(summary.recovery).toEqual(rec({ reconnects: 2, outageMs: 50, busyRetries: 7 }));
    expect("recovery" in reduceSummary([jobOf({ durationSec: 1, read: [] })]).summary).toBe(false);
  });

  it("an interval's outage and reconnects add up over its parts and show in the intervals and the timeline", () => {
    const m = new Map<number, IntervalAccumulator>();
    const none = encodeOp(newOpAccumulator());
    addIntervalPart(m, 0, { read: none, write: none, errors: 0, ms: 1000, outageMs: 0, reconnects: 0 });
    addIntervalPart(m, 1, { read: none, write: none, errors: 0, ms: 1000, outageMs: 700, reconnects: 1 });
    addIntervalPart(m, 1, { read: none, write: none, errors: 0, ms: 1000, outageMs: 650, reconnects: 1 });
    expect(intervalsOf(m).map((i) => [i.outageMs, i.reconnects])).toEqual([
      [0, 0],
      [1350, 2],
    ]);
    const tl = timelineOf(m, 0, 0, 0);
    expect(tl.map((e) => [e.outageMs, e.reconnects])).toEqual([
      [0, 0],
      [1350, 2],
    ]);
    // hosts side by side: summed
    expect(reduceTimelines([tl, tl]).map((e) => [e.outageMs, e.reconnects])).toEqual([
      [0, 0],
      [2700, 4],
    ]);
    // parts of older files: no keys
    const old = new Map<number, IntervalAccumulator>();
    addIntervalPart(old, 0, { read: none, write: none, errors: 1, ms: 1000 });
    expect("outageMs" in intervalsOf(old)[0]!).toBe(false);
    expect("outageMs" in timelineOf(old, 0, 0, 0)[0]!).toBe(false);
  });
});
