/**
 * `compare`'s verdict table as HTML for the report (`report --baseline`): the same rows, figures
 * and notes as the terminal and markdown tables of compare-format.ts, the verdict marked by a
 * word and a symbol as well as a colour.
 */
import type { CompareRow, Comparison } from "../compare.js";
import {
  formatChange,
  formatInterval,
  formatMetricValue,
  headerLine,
  summaryLine,
} from "../compare-format.js";
import { esc, list, table } from "./html.js";

const VERDICT: Record<CompareRow["verdict"], string> = {
  regression: "▼ REGRESSION",
  improvement: "▲ improvement",
  "no change": "= no change",
  inconclusive: "? inconclusive",
};

const verdictClass = (v: CompareRow["verdict"]): string => `verdict-${v.replace(" ", "-")}`;

function stepLabel(c: Comparison, r: CompareRow): string {
  const multiStep = new Set(c.rows.filter((x) => x.job === r.job).map((x) => x.step)).size > 1;
  return multiStep ? `${r.job} (step ${r.step})` : r.job;
}

function notes(c: Comparison): string[] {
  const out = [
    "interval: of the change, corrected for the metrics compared (at most 5 % chance of any false verdict); needs: repetitions per side a clear verdict would take",
    ...c.notes,
  ];
  const methods = new Set<string>();
  for (const r of c.rows) {
    if (r.note === "") continue;
    methods.add(r.method === "one-sided-absent" ? `${r.job} ${r.op}: ${r.note}` : r.note);
  }
  return [...out, ...methods];
}

export function renderCompareHtml(c: Comparison): string {
  const rows = c.rows.map((r) => [
    esc(stepLabel(c, r)),
    String(r.queueDepth),
    r.op,
    esc(`${r.metric} (±${r.thresholdPct}%)`),
    esc(formatMetricValue(r, r.baseline)),
    esc(formatMetricValue(r, r.candidate)),
    esc(formatChange(r.changePct)),
    esc(formatInterval(r.ciPct)),
    `<span class="verdict ${verdictClass(r.verdict)}">${esc(VERDICT[r.verdict])}</span>`,
    `${r.baselineReps} vs ${r.candidateReps}`,
    r.repsNeeded === null ? "" : String(r.repsNeeded),
  ]);
  const status = c.counts.regression > 0 ? "regression" : "no regression";
  return [
    `<p class="compare-status ${c.counts.regression > 0 ? "bad" : "good"}"><strong>${status}</strong>: ${esc(summaryLine(c))}</p>`,
    `<p class="small">${esc(headerLine(c))}</p>`,
    table({
      head: [
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
      ],
      rows,
      numeric: [1, 4, 5, 6, 7, 9, 10],
      rowClass: c.rows.map((r) => verdictClass(r.verdict)),
      className: "compare",
    }),
    list(notes(c).map(esc)),
  ].join("\n");
}
