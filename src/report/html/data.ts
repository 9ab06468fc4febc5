/**
 * The series the HTML report plots, computed in Node: every percentile comes from a decoded
 * HdrHistogram (src/result/histogram.ts) and only the plotted numbers go into the page, so the
 * page needs no histogram code. Several results share one x grid per chart (null where a result
 * has no point), and each series carries its style: a colour and a marker per result and
 * operation, a dash per metric, so that the charts read without colour too.
 */
import { decodeHistogram, type Histogram } from "../../result/histogram.js";
import { OP_NAMES, type OpName, type RunResult, type TimelineEntry } from "../../result/types.js";

/** One input of the report: a result and how the legends name it. */
export interface ReportRun {
  label: string;
  /** The file as given. */
  path: string;
  result: RunResult;
  /** What its schema version does not record (readResult's `missing`). */
  missing: string[];
  baseline: boolean;
}

export interface Series {
  label: string;
  /** Index into the page's palette and marker shapes (one per result and operation). */
  group: number;
  /** Index into the page's dash patterns (one per metric). */
  dash: number;
  values: Array<number | null>;
}

/** A vertical line: where a step or repetition begins (its ramp ran just before, unrecorded). */
export interface Mark {
  x: number;
  label: string;
  group: number;
  /** "segment": a step or repetition begins; "outage": seconds in which a session had no connection. */
  kind?: "segment" | "outage";
}

/** A horizontal line: a link's iSCSI payload ceiling. */
export interface Level {
  y: number;
  label: string;
  group: number;
}

export type Unit = "MB/s" | "IOPS" | "latency";

export interface LineChart {
  kind: "time" | "percentile";
  id: string;
  unit: Unit;
  yLog: boolean;
  x: number[];
  series: Series[];
  marks: Mark[];
  levels: Level[];
}

export interface SweepSeries {
  label: string;
  group: number;
  dash: number;
  iops: number[];
  latencyUs: number[];
  depths: number[];
}

export interface SweepChart {
  kind: "sweep";
  id: string;
  series: SweepSeries[];
}

export interface ReportData {
  charts: Array<LineChart | SweepChart>;
}

/** The highest 1/(1-q) of the percentile chart: 99.999 %. */
export const PERCENTILE_X_MAX = 1e5;
const PERCENTILE_POINTS = 240;

const sig = (x: number): number => Number(x.toPrecision(5));

/** The operations a result did at all, in order. */
export function opsOf(r: RunResult): OpName[] {
  const ops = OP_NAMES.filter((op) => r.summary[op].ios > 0);
  return ops.length > 0 ? ops : ["read"];
}

/** One group (colour and marker) per result and operation. */
function groupsOf(runs: ReportRun[]): Map<string, number> {
  const out = new Map<string, number>();
  runs.forEach((run, i) => {
    for (const op of opsOf(run.result)) out.set(`${i}:${op}`, out.size);
  });
  return out;
}

const seriesLabel = (runs: ReportRun[], i: number, op: OpName, metric: string): string => {
  const r = runs[i]!;
  const both = opsOf(r.result).length > 1 || runs.some((x) => opsOf(x.result)[0] !== op);
  const what = [both ? op : "", metric].filter((s) => s !== "").join(" ");
  return runs.length > 1 ? `${r.label} · ${what}` : what;
};

/** The union of every result's x values, and each result's values placed on it. */
function join(xs: number[][]): {
  x: number[];
  place: (i: number, ys: Array<number | null>) => Array<number | null>;
} {
  const x = [...new Set(xs.flat())].sort((a, b) => a - b);
  const at = new Map(x.map((v, i) => [v, i]));
  return {
    x,
    place: (i, ys) => {
      const out: Array<number | null> = new Array(x.length).fill(null);
      xs[i]!.forEach((v, k) => {
        out[at.get(v)!] = ys[k] ?? null;
      });
      return out;
    },
  };
}

/** Where each (step, repetition) of the timeline begins, labelled "qd 8", "rep 2". */
function segmentMarks(r: RunResult, group: number): Mark[] {
  const steps = new Set(r.timeline.map((e) => e.step));
  const reps = new Set(r.timeline.map((e) => e.repetition ?? 0));
  if (steps.size <= 1 && reps.size <= 1) return [];
  const depthOf = (step: number): string => {
    const qds = new Set(r.jobs.filter((j) => j.step === step).map((j) => j.queueDepth));
    return qds.size === 1 ? `qd ${[...qds][0]}` : `step ${step + 1}`;
  };
  const out: Mark[] = [];
  let prev: TimelineEntry | null = null;
  for (const e of r.timeline) {
    if (prev === null || prev.step !== e.step || (prev.repetition ?? 0) !== (e.repetition ?? 0)) {
      const start = e.ms !== undefined ? e.t - e.ms / 1000 : (prev?.t ?? 0);
      const parts = [
        steps.size > 1 ? depthOf(e.step) : "",
        reps.size > 1 ? `rep ${(e.repetition ?? 0) + 1}` : "",
      ];
      out.push({
        x: sig(Math.max(0, start)),
        label: parts.filter((p) => p !== "").join(" "),
        group,
        kind: "segment",
      });
    }
    prev = e;
  }
  return out;
}

/**
 * Where sessions lost their connection (schemaVersion 3 timelines): one mark at the start of each
 * run of consecutive intervals with outage or reconnects, labelled with the outage it adds up to
 * ("outage 1.9 s, 2 reconnects"; session-seconds, summed over the step's sessions).
 */
export function outageMarks(r: RunResult, group: number): Mark[] {
  const out: Mark[] = [];
  let open: { x: number; ms: number; reconnects: number } | null = null;
  const close = (): void => {
    if (open === null) return;
    const rc = open.reconnects > 0 ? `, ${open.reconnects} reconnect${open.reconnects === 1 ? "" : "s"}` : "";
    out.push({
      x: sig(open.x),
      label: `outage ${(open.ms / 1000).toFixed(1)} s${rc}`,
      group,
      kind: "outage",
    });
    open = null;
  };
  let prevT = 0;
  for (const e of r.timeline) {
    const ms = e.outageMs ?? 0;
    const reconnects = e.reconnects ?? 0;
    if (ms > 0 || reconnects > 0) {
      const start = e.ms !== undefined ? e.t - e.ms / 1000 : prevT;
      open ??= { x: Math.max(0, start), ms: 0, reconnects: 0 };
      open.ms += ms;
      open.reconnects += reconnects;
    } else {
      close();
    }
    prevT = e.t;
  }
  close();
  return out;
}

/** Log scale when the results' typical values differ by more than 20x (zeros cannot be plotted). */
function wantsLog(series: Series[]): boolean {
  const medians = series
    .map((s) => {
      const v = s.values.filter((x): x is number => x !== null && x > 0).sort((a, b) => a - b);
      return v.length > 0 ? v[v.length >> 1]! : null;
    })
    .filter((m): m is number => m !== null);
  return medians.length > 1 && Math.max(...medians) / Math.min(...medians) > 20;
}

function throughputChart(runs: ReportRun[], unit: "MB/s" | "IOPS"): LineChart {
  const groups = groupsOf(runs);
  const { x, place } = join(runs.map((run) => run.result.timeline.map((e) => e.t)));
  const series: Series[] = [];
  const levels: Level[] = [];
  runs.forEach((run, i) => {
    for (const op of opsOf(run.result)) {
      const group = groups.get(`${i}:${op}`)!;
      const ys = run.result.timeline.map((e) => sig(unit === "IOPS" ? e[op].iops : e[op].bytesPerSec / 1e6));
      series.push({ label: seriesLabel(runs, i, op, unit), group, dash: group, values: place(i, ys) });
      const eff = run.result.summary.efficiency?.[op];
      if (unit === "MB/s" && eff) {
        const y = sig(eff.payloadCeilingBytesPerSec / 1e6);
        const who = runs.length > 1 ? `${run.label} ` : "";
        levels.push({ y, label: `${who}${op} payload ceiling ${y} MB/s`, group });
      }
    }
  });
  const yLog = wantsLog(series);
  if (yLog) for (const s of series) s.values = s.values.map((v) => (v !== null && v > 0 ? v : null));
  const marks = runs.flatMap((run, i) => {
    const group = groups.get(`${i}:${opsOf(run.result)[0]}`)!;
    return [...segmentMarks(run.result, group), ...outageMarks(run.result, group)];
  });
  return { kind: "time", id: unit === "IOPS" ? "iops" : "throughput", unit, yLog, x, series, marks, levels };
}

const LATENCY_METRICS: Array<[string, number]> = [
  ["p50", 50],
  ["p99", 99],
  ["p99.9", 99.9],
];

/** A percentile of an interval's histogram; v1 timelines have only the p99. */
function intervalLatency(
  e: TimelineEntry,
  op: OpName,
  percentile: number,
  cache: Map<string, Histogram>,
): number | null {
  const t = e[op];
  if (t.ios === 0 || (t.ios === undefined && t.iops === 0)) return null;
  if (t.histogram === undefined) return percentile === 99 && t.p99Us > 0 ? t.p99Us : null;
  let h = cache.get(t.histogram);
  if (h === undefined) {
    h = decodeHistogram(t.histogram);
    cache.set(t.histogram, h);
  }
  return h.totalCount > 0 ? h.getValueAtPercentile(percentile) : null;
}

function latencyOverTime(runs: ReportRun[]): LineChart {
  const groups = groupsOf(runs);
  const { x, place } = join(runs.map((run) => run.result.timeline.map((e) => e.t)));
  const series: Series[] = [];
  runs.forEach((run, i) => {
    const v1 = run.result.timeline.some((e) => e.read.histogram === undefined);
    const cache = new Map<string, Histogram>();
    for (const op of opsOf(run.result)) {
      LATENCY_METRICS.forEach(([name, p], dash) => {
        if (v1 && p !== 99) return;
        const ys = run.result.timeline.map((e) => intervalLatency(e, op, p, cache));
        const group = groups.get(`${i}:${op}`)!;
        series.push({ label: seriesLabel(runs, i, op, name), group, dash, values: place(i, ys) });
      });
    }
  });
  const marks = runs.flatMap((run, i) =>
    segmentMarks(run.result, groups.get(`${i}:${opsOf(run.result)[0]}`)!),
  );
  return { kind: "time", id: "latency-time", unit: "latency", yLog: true, x, series, marks, levels: [] };
}

/** The log grid of 1/(1-q) from 1 (q = 0) to `max`. */
export function percentileGrid(max: number, points = PERCENTILE_POINTS): number[] {
  const out: number[] = [];
  const top = Math.log10(max);
  for (let k = 0; k < points; k++) out.push(sig(10 ** ((top * k) / (points - 1))));
  return out;
}

/** The histogram at each x = 1/(1-q); past its resolution (x > count) only its maximum, then null. */
export function percentileCurve(h: Histogram, grid: number[]): Array<number | null> {
  const count = h.totalCount;
  if (count === 0) return grid.map(() => null);
  let past = false;
  return grid.map((x) => {
    if (past) return null;
    if (x > count) {
      past = true;
      return h.getValueAtPercentile(100);
    }
    return h.getValueAtPercentile(100 * (1 - 1 / x));
  });
}

function percentileChart(runs: ReportRun[]): LineChart {
  const groups = groupsOf(runs);
  const most = Math.max(
    1,
    ...runs.flatMap((run) => opsOf(run.result).map((op) => run.result.summary[op].ios)),
  );
  const xMax = Math.min(PERCENTILE_X_MAX, 10 ** Math.max(2, Math.ceil(Math.log10(most))));
  const x = percentileGrid(xMax);
  const series: Series[] = [];
  runs.forEach((run, i) => {
    for (const op of opsOf(run.result)) {
      const s = run.result.summary[op];
      const group = groups.get(`${i}:${op}`)!;
      const latency = percentileCurve(decodeHistogram(s.histogram), x);
      series.push({ label: seriesLabel(runs, i, op, "latency"), group, dash: 0, values: latency });
      if (s.serviceHistogram !== undefined) {
        const service = percentileCurve(decodeHistogram(s.serviceHistogram), x);
        series.push({ label: seriesLabel(runs, i, op, "service time"), group, dash: 1, values: service });
      }
    }
  });
  return {
    kind: "percentile",
    id: "percentiles",
    unit: "latency",
    yLog: true,
    x,
    series,
    marks: [],
    levels: [],
  };
}

/** True when some job of the result ran more than one queue depth. */
export function isSweep(r: RunResult): boolean {
  return sweepJobs(r).length > 0;
}

function sweepJobs(r: RunResult): string[] {
  const names = [...new Set(r.jobs.map((j) => j.name))];
  return names.filter((n) => new Set(r.jobs.filter((j) => j.name === n).map((j) => j.queueDepth)).size > 1);
}

function sweepChart(runs: ReportRun[]): SweepChart | null {
  const groups = groupsOf(runs);
  const series: SweepSeries[] = [];
  runs.forEach((run, i) => {
    const jobs = sweepJobs(run.result);
    for (const [k, name] of jobs.entries()) {
      const steps = run.result.jobs.filter((j) => j.name === name).sort((a, b) => a.step - b.step);
      for (const op of opsOf(run.result)) {
        const done = steps.filter((j) => j[op].ios > 0);
        if (done.length === 0) continue;
        // the result's colour and marker, as in the other charts (a second swept job: the next ones)
        const group = groups.get(`${i}:${op}`)! + k * groups.size;
        const who = [runs.length > 1 ? run.label : "", jobs.length > 1 ? name : ""].filter((s) => s !== "");
        const what = opsOf(run.result).length > 1 ? `${op} ` : "";
        for (const [dash, metric] of [
          [0, "p50"],
          [1, "p99"],
        ] as const) {
          series.push({
            label: [...who, `${what}${metric}`].join(" · "),
            group,
            dash,
            iops: done.map((j) => sig(j[op].iops)),
            latencyUs: done.map((j) => j[op].latencyUs[metric]),
            depths: done.map((j) => j.queueDepth),
          });
        }
      }
    }
  });
  return series.length > 0 ? { kind: "sweep", id: "sweep", series } : null;
}

/** Every chart of the report, in page order. */
export function buildReportData(runs: ReportRun[]): ReportData {
  const charts: Array<LineChart | SweepChart> = [
    throughputChart(runs, "MB/s"),
    throughputChart(runs, "IOPS"),
    latencyOverTime(runs),
    percentileChart(runs),
  ];
  const sweep = sweepChart(runs);
  if (sweep) charts.push(sweep);
  return { charts };
}
