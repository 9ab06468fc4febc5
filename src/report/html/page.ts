/**
 * The report page: one self-contained HTML document (uPlot, styles, data and script inlined; a
 * Content-Security-Policy that forbids every fetch), light theme, printable. Tables are static
 * HTML; each chart is a `.chart` element that the page script (page-script.ts) fills from the
 * embedded series (data.ts).
 */
import { formatBitsPerSec, formatLatencyUs } from "../table.js";
import { uplotAssets } from "./assets.js";
import type { LineChart, ReportData, ReportRun, SweepChart } from "./data.js";
import { esc, list } from "./html.js";
import { PAGE_SCRIPT } from "./page-script.js";
import {
  efficiencyTable,
  healthRows,
  runRows,
  sideBySide,
  summaryNotes,
  summaryTable,
  targetRows,
  verifyFailures,
  workloadRows,
} from "./tables.js";

export interface PageInput {
  title: string;
  runs: ReportRun[];
  data: ReportData;
  /** The verdict table (compare-html.ts), with --baseline. */
  compareHtml: string | null;
  generatedAt: Date;
  toolVersion: string;
}

const CSS = `
:root { color-scheme: light; --fg: #1a1a1a; --muted: #555; --line: #d0d0d0; --bg: #fff; --alt: #f6f6f6; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.3rem; }
p.small, .small { color: var(--muted); font-size: 0.9em; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; }
nav a, a { color: #0b4f8a; }
.runs li { margin: 0.15rem 0; }
.table-wrap { overflow-x: auto; margin: 0.5rem 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { padding: 0.2rem 0.45rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; vertical-align: top; }
th { background: var(--alt); font-weight: 600; }
td.num, th.num { text-align: right; }
table.summary { font-size: 13px; }
tr.total td { font-weight: 600; border-top: 2px solid var(--fg); }
tr.first td { border-top: 2px solid var(--muted); }
table.kv td { white-space: normal; max-width: 34rem; overflow-wrap: anywhere; }
tr.differs td { font-weight: 600; background: #fff8e0; }
.ne { display: inline-block; width: 1em; }
figure { margin: 1rem 0 2rem; break-inside: avoid; }
figcaption { margin-bottom: 0.4rem; }
figcaption p { margin: 0.2rem 0; color: var(--muted); }
.chart { min-height: 340px; width: 100%; }
.u-legend canvas.legend-marker { width: 30px; height: 14px; vertical-align: middle; margin-right: 4px; }
.u-legend { font-size: 12px; text-align: left; }
.u-legend .u-series { padding: 0 0.6rem 0 0; }
.u-legend th { background: none; font-weight: 400; }
.u-legend td, .u-legend th { border: none; padding: 1px 4px; vertical-align: middle; }
.verdict { font-weight: 600; }
.verdict-regression .verdict { color: #a40000; }
.verdict-improvement .verdict { color: #006b2e; }
.verdict-inconclusive .verdict { color: #7a5a00; }
.compare-status.bad strong { color: #a40000; }
.compare-status.good strong { color: #006b2e; }
ul.notes { color: var(--muted); padding-left: 1.2rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.85em; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  h2 { break-after: avoid; }
  .table-wrap { overflow: visible; }
  section, figure, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

function runsList(runs: ReportRun[]): string {
  const items = runs.map((run) => {
    const r = run.result;
    const what = [
      `workload <strong>${esc(String(r.workload["name"] ?? "?"))}</strong>`,
      r.target.builtin ? "built-in target" : esc(r.target.url),
      r.link ? esc(`${formatBitsPerSec(r.link.nominalBitsPerSec)} link`) : "",
      run.baseline ? "<em>baseline</em>" : "",
    ].filter((s) => s !== "");
    return `<strong>${esc(run.label)}</strong>: <code>${esc(run.path)}</code> — ${what.join(", ")}, started ${esc(r.startedAt)}`;
  });
  return list(items, "runs");
}

function rampText(runs: ReportRun[]): string {
  const ramps = [...new Set(runs.map((r) => Number(r.result.workload["rampTimeMs"] ?? 0)))];
  const each = ramps.map((ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`)).join(" / ");
  return ramps.every((ms) => ms === 0)
    ? "there was no ramp"
    : `each step's ramp (${each}) ran just before its start and is not recorded`;
}

function figure(id: string, title: string, caption: string[]): string {
  return [
    `<figure id="fig-${id}"><figcaption><h3>${esc(title)}</h3>`,
    ...caption.map((c) => `<p>${c}</p>`),
    `</figcaption><div class="chart" data-chart="${id}" role="img" aria-label="${esc(title)}"></div></figure>`,
  ].join("\n");
}

function chartFigures(input: PageInput): string {
  const { runs, data } = input;
  const byId = new Map(data.charts.map((c) => [c.id, c]));
  const line = (id: string): LineChart => byId.get(id) as LineChart;
  const several = runs.length > 1 ? "Each result is one colour and marker shape (see the legend). " : "";
  const marks = line("throughput").marks.some((m) => m.kind !== "outage");
  const outage = line("throughput").marks.some((m) => m.kind === "outage")
    ? " Lines labelled “outage” mark where sessions lost their connection: the time without a session the seconds after it add up to (summed over sessions) and the reconnects."
    : "";
  const segment =
    (marks
      ? `Dotted vertical lines mark where a step or repetition begins (labelled); ${rampText(runs)}.`
      : `Measured time only: ${rampText(runs)}.`) + outage;
  const logNote = (c: LineChart): string =>
    c.yLog ? " Log scale: the results differ by more than 20×." : "";
  const v1 = runs.filter((r) => r.missing.length > 0).map((r) => esc(r.label));
  const out: string[] = [];
  out.push(
    figure("throughput", "Throughput over time", [
      `MB/s (10⁶ bytes per second) in each interval of measured time, per operation. ${several}${segment}` +
        (line("throughput").levels.length > 0
          ? " The dash-dot horizontal line is the link's iSCSI payload ceiling (full data PDUs at the negotiated segment length, TCP/IP over Ethernet)."
          : "") +
        logNote(line("throughput")),
    ]),
    figure("iops", "IOPS over time", [
      `I/Os completed per second in each interval. ${segment}${logNote(line("iops"))}`,
    ]),
    figure("latency-time", "Latency over time", [
      "p50 (solid), p99 (dashed) and p99.9 (dotted) of each interval's latency histogram, log scale." +
        (v1.length > 0
          ? ` ${v1.join(", ")}: a schemaVersion 1 file records no interval histograms, only each interval's p99.`
          : ""),
    ]),
    figure("percentiles", "Latency percentile distribution", [
      "The whole run's merged HDR histogram at percentile q, on the classic log axis of 1/(1−q), one curve per operation. " +
        "Solid: latency (from each command's intended start: corrected for coordinated omission in rate-limited jobs); " +
        "dashed: service time (submission to status). In closed-loop jobs the two coincide." +
        (v1.length > 0 ? ` ${v1.join(", ")}: no service-time histogram (schemaVersion 1).` : ""),
    ]),
  );
  const sweep = byId.get("sweep") as SweepChart | undefined;
  if (sweep) {
    out.push(
      figure("sweep", "Latency against IOPS, per queue depth", [
        "One point per queue depth (labelled): the step's IOPS and its p50 (solid) and p99 (dashed) latency, log scale. " +
          "The knee is where more depth stops buying IOPS and only adds latency.",
      ]),
    );
  }
  return out.join("\n");
}

function headline(runs: ReportRun[]): string {
  const parts = runs.map((run) => {
    const s = run.result.summary;
    const ops = (["read", "write"] as const).filter((op) => s[op].ios > 0);
    const text = ops
      .map(
        (op) =>
          `${op} ${(s[op].bytesPerSec / 1e6).toFixed(1)} MB/s, ${Math.round(s[op].iops)} IOPS, p99 ${formatLatencyUs(s[op].latencyUs.p99)}`,
      )
      .join("; ");
    return runs.length > 1 ? `${esc(run.label)}: ${esc(text)}` : esc(text);
  });
  return list(parts, "headline");
}

export function renderPage(input: PageInput): string {
  const { runs } = input;
  const assets = uplotAssets();
  const json = JSON.stringify(input.data).replace(/</g, "\\u003c");
  const sections: Array<[string, string, string]> = [
    ["summary", "Summary", summaryTable(runs) + summaryNotes(runs) + efficiencyTable(runs)],
  ];
  if (input.compareHtml !== null) sections.push(["compare", "Compared with the baseline", input.compareHtml]);
  sections.push(["charts", "Charts", chartFigures(input)]);
  sections.push([
    "workload",
    "Workload",
    sideBySide(
      runs,
      runs.map((r) => workloadRows(r.result)),
    ),
  ]);
  sections.push([
    "target",
    "Target and negotiated parameters",
    sideBySide(
      runs,
      runs.map((r) => targetRows(r.result)),
      "parameter",
    ),
  ]);
  sections.push([
    "health",
    "Errors, reconnects and verification",
    sideBySide(
      runs,
      runs.map((r) => healthRows(r.result)),
    ) + verifyFailures(runs),
  ]);
  sections.push(["run", "Run and environment", sideBySide(runs, runs.map(runRows))]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="iscsi-bench ${esc(input.toolVersion)}">
<title>${esc(input.title)}</title>
<style>${assets.css}</style>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(input.title)}</h1>
<p class="small">Generated ${esc(input.generatedAt.toISOString())} by iscsi-bench ${esc(input.toolVersion)} from ${runs.length} result${runs.length === 1 ? "" : "s"}.</p>
${runsList(runs)}
${headline(runs)}
</header>
<nav aria-label="sections"><ul>${sections.map(([id, title]) => `<li><a href="#${id}">${esc(title)}</a></li>`).join("")}</ul></nav>
<main>
${sections.map(([id, title, body]) => `<section id="${id}"><h2>${esc(title)}</h2>\n${body}\n</section>`).join("\n")}
</main>
<footer>Charts drawn with uPlot ${esc(assets.version)} (MIT licence, © Leon Sorokin), inlined. All figures are computed from the result files' HDR histograms; the page loads nothing.</footer>
<script type="application/json" id="report-data">${json}</script>
<script>${assets.script}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
