/**
 * `compare`'s three outputs: a cli-table3 table like the run summary, a markdown table for a CI
 * job summary ($GITHUB_STEP_SUMMARY) with the verdicts marked at a glance, and JSON with every
 * figure. All three carry the same rows and notes.
 */
import Table from "cli-table3";
import type { CompareRow, Comparison } from "./compare.js";
import { isThroughput } from "./compare.js";
import { formatLatencyUs, formatRate } from "./table.js";

export type CompareFormat = "table" | "markdown" | "json";
export const COMPARE_FORMATS: readonly CompareFormat[] = ["table", "markdown", "json"];

export const COMPARE_JSON_VERSION = 1;
export const COMPARE_VERDICT_COLUMN = 8;

/** The metric's value with its unit: "25332 IOPS", "3320 MB/s", "1.15ms". */
export function formatMetricValue(row: Pick<CompareRow, "metric">, v: number): string {
  if (row.metric === "iops") return `${formatRate(v)} IOPS`;
  if (row.metric === "bytes") return `${formatRate(v / 1e6)} MB/s`;
  return formatLatencyUs(v);
}

function signed(x: number): string {
  if (x === Number.POSITIVE_INFINITY) return "+∞";
  if (x === Number.NEGATIVE_INFINITY) return "−∞";
  const r = Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
  return x > 0 ? `+${r}%` : x < 0 ? `−${r.slice(1)}%` : "0%";
}

export function formatChange(x: number): string {
  return signed(x);
}

export function formatInterval(ci: [number, number]): string {
  const lo = ci[0] <= -100 ? "−100%" : signed(ci[0]);
  return `[${lo}, ${signed(ci[1])}]`;
}

const VERDICT_TEXT: Record<CompareRow["verdict"], string> = {
  regression: "REGRESSION",
  improvement: "improvement",
  "no change": "no change",
  inconclusive: "inconclusive",
};

const VERDICT_MARK: Record<CompareRow["verdict"], string> = {
  regression: "🔴 **regression**",
  improvement: "🟢 improvement",
  "no change": "⚪ no change",
  inconclusive: "🟡 inconclusive",
};

function repsCell(r: CompareRow): string {
  return `${r.baselineReps} vs ${r.candidateReps}`;
}

function needCell(r: CompareRow): string {
  return r.repsNeeded === null ? "" : `${r.repsNeeded}`;
}

function metricCell(r: CompareRow): string {
  return `${r.metric} (±${r.thresholdPct}%)`;
}

function stepLabel(c: Comparison, r: CompareRow): string {
  const multiStep = new Set(c.rows.filter((x) => x.job === r.job).map((x) => x.step)).size > 1;
  return multiStep ? `${r.job} (step ${r.step})` : r.job;
}

export function summaryLine(c: Comparison): string {
  const n = c.counts;
  const parts = [
    `${n.regression} regression${n.regression === 1 ? "" : "s"}`,
    `${n.improvement} improvement${n.improvement === 1 ? "" : "s"}`,
    `${n["no change"]} no change`,
    `${n.inconclusive} inconclusive`,
  ];
  return parts.join(", ");
}

/** The columns of every rendering of the verdict table (terminal, markdown, HTML). */
export const COMPARE_HEADER = [
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
];

/** One row's cells as text (the verdict at COMPARE_VERDICT_COLUMN). */
export function compareCells(c: Comparison, r: CompareRow): string[] {
  return [
    stepLabel(c, r),
    String(r.queueDepth),
    r.op,
    metricCell(r),
    formatMetricValue(r, r.baseline),
    formatMetricValue(r, r.candidate),
    formatChange(r.changePct),
    formatInterval(r.ciPct),
    VERDICT_TEXT[r.verdict],
    repsCell(r),
    needCell(r),
  ];
}

export function renderCompareTable(c: Comparison): string {
  const table = new Table({
    head: COMPARE_HEADER,
    style: { head: [], border: [] },
    colAligns: [
      "left",
      "right",
      "left",
      "left",
      "right",
      "right",
      "right",
      "right",
      "left",
      "right",
      "right",
    ],
  });
  for (const r of c.rows) table.push(compareCells(c, r));
  const lines = [headerLine(c), table.toString(), summaryLine(c)];
  lines.push(...compareNotes(c).map((l) => `note: ${l}`));
  return lines.join("\n");
}

/** What a reader must know under the table: the interval, the notes, the methods used. */
export function compareNotes(c: Comparison): string[] {
  const out = [
    "interval: of the change, corrected for the metrics compared (at most 5 % chance of any false verdict); needs: repetitions per side a clear verdict would take",
  ];
  out.push(...c.notes);
  const methods = new Set<string>();
  for (const r of c.rows) {
    if (r.note === "") continue;
    methods.add(r.method === "one-sided-absent" ? `${r.job} ${r.op}: ${r.note}` : r.note);
  }
  out.push(...methods);
  return out;
}

/** "baseline: a.json (5 repetitions) · candidate: b.json (5 repetitions) · fingerprint sha256:…" */
export function headerLine(c: Comparison): string {
  const reps = (side: "baselineReps" | "candidateReps"): number => Math.max(0, ...c.rows.map((r) => r[side]));
  const files = (xs: string[]): string => (xs.length <= 2 ? xs.join(", ") : `${xs.length} files`);
  return `baseline: ${files(c.baseline)} (${reps("baselineReps")} repetitions) · candidate: ${files(c.candidate)} (${reps("candidateReps")} repetitions) · fingerprint ${c.fingerprint}`;
}

const mdEscape = (s: string): string => s.replace(/\|/g, "\\|");

export function renderCompareMarkdown(c: Comparison): string {
  const lines: string[] = [];
  const status = c.counts.regression > 0 ? "❌ regression" : "✅ no regression";
  lines.push(`### iscsi-bench compare: ${status}`);
  lines.push("");
  lines.push(`**${summaryLine(c)}** · ${headerLine(c)}`);
  lines.push("");
  lines.push(`| ${COMPARE_HEADER.join(" | ")} |`);
  lines.push(
    `|${COMPARE_HEADER.map((_h, i) => (i === 1 || (i >= 4 && i <= 7) || i >= 9 ? " ---: " : " --- ")).join("|")}|`,
  );
  for (const r of c.rows) {
    const row = compareCells(c, r).map(mdEscape);
    row[COMPARE_VERDICT_COLUMN] = VERDICT_MARK[r.verdict];
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  for (const n of compareNotes(c)) lines.push(`- ${mdEscape(n)}`);
  return `${lines.join("\n")}\n`;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function compareJson(c: Comparison, exitCode: number): Record<string, unknown> {
  return {
    kind: "iscsi-bench-compare",
    version: COMPARE_JSON_VERSION,
    exitCode,
    regression: c.counts.regression > 0,
    counts: c.counts,
    baseline: c.baseline,
    candidate: c.candidate,
    fingerprint: c.fingerprint,
    metrics: c.metrics,
    thresholds: c.thresholds,
    rows: c.rows.map((r) => ({
      job: r.job,
      step: r.step,
      queueDepth: r.queueDepth,
      op: r.op,
      metric: r.metric,
      unit: isThroughput(r.metric) ? (r.metric === "iops" ? "IO/s" : "bytes/s") : "us",
      thresholdPct: r.thresholdPct,
      verdict: r.verdict,
      method: r.method,
      baseline: r.baseline,
      candidate: r.candidate,
      changePct: finite(r.changePct),
      ciPct: [finite(r.ciPct[0]), finite(r.ciPct[1])],
      confidence: r.confidence,
      pValue: r.pValue,
      baselineReps: r.baselineReps,
      candidateReps: r.candidateReps,
      repsNeeded: r.repsNeeded,
      baselineLink: r.baselineLink,
      candidateLink: r.candidateLink,
      note: r.note,
    })),
    notes: c.notes,
  };
}
