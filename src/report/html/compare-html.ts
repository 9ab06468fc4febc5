/**
 * `compare`'s verdict table as HTML for the report (`report --baseline`): the same rows, figures
 * and notes as the terminal and markdown tables of compare-format.ts, the verdict marked by a
 * word and a symbol as well as a colour.
 */
import type { CompareRow, Comparison } from "../compare.js";
import {
  COMPARE_HEADER,
  COMPARE_VERDICT_COLUMN,
  compareCells,
  compareNotes,
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

export function renderCompareHtml(c: Comparison): string {
  const rows = c.rows.map((r) => {
    const cells = compareCells(c, r).map(esc);
    cells[COMPARE_VERDICT_COLUMN] =
      `<span class="verdict ${verdictClass(r.verdict)}">${esc(VERDICT[r.verdict])}</span>`;
    return cells;
  });
  const status = c.counts.regression > 0 ? "regression" : "no regression";
  return [
    `<p class="compare-status ${c.counts.regression > 0 ? "bad" : "good"}"><strong>${status}</strong>: ${esc(summaryLine(c))}</p>`,
    `<p class="small">${esc(headerLine(c))}</p>`,
    table({
      head: COMPARE_HEADER,
      rows,
      numeric: [1, 4, 5, 6, 7, 9, 10],
      rowClass: c.rows.map((r) => verdictClass(r.verdict)),
      className: "compare",
    }),
    list(compareNotes(c).map(esc)),
  ].join("\n");
}
