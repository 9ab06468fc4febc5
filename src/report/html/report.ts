/**
 * The HTML report of one or more results (and, with baselines, the compare verdict): labels each
 * result, builds the plotted series and the verdict table, and renders the page.
 */
import { basename } from "node:path";
import { toolVersion } from "../../result/environment.js";
import type { LoadedResult } from "../../result/file.js";
import { type CompareOptions, compareResults } from "../compare.js";
import { renderCompareHtml } from "./compare-html.js";
import { buildReportData, type ReportRun } from "./data.js";
import { renderPage } from "./page.js";

export interface HtmlReportOptions {
  title?: string;
  /** Baseline results: with them the report shows compare's verdict on the results. */
  baselines?: LoadedResult[];
  compare?: CompareOptions;
  generatedAt?: Date;
}

/** "runs/seq-read-gbit.json" -> "seq-read-gbit"; equal names get " (2)", " (3)". */
export function labelsFor(paths: string[]): string[] {
  const base = paths.map((p) => basename(p).replace(/\.json$/i, "") || p);
  const seen = new Map<string, number>();
  return base.map((b) => {
    const n = (seen.get(b) ?? 0) + 1;
    seen.set(b, n);
    return n === 1 ? b : `${b} (${n})`;
  });
}

export function defaultTitle(results: LoadedResult[]): string {
  const names = [...new Set(results.map((r) => String(r.result.workload["name"] ?? "run")))];
  return `iscsi-bench report: ${names.join(", ")}`;
}

export function buildHtmlReport(results: LoadedResult[], opts: HtmlReportOptions = {}): string {
  const baselines = opts.baselines ?? [];
  const all = [...baselines, ...results];
  const labels = labelsFor(all.map((r) => r.path));
  const runs: ReportRun[] = all.map((r, i) => ({
    label: i < baselines.length ? `${labels[i]} (baseline)` : labels[i]!,
    path: r.path,
    result: r.result,
    missing: r.missing,
    baseline: i < baselines.length,
  }));
  const compareHtml =
    baselines.length > 0
      ? renderCompareHtml(
          compareResults(baselines, results, opts.compare ?? { metrics: ["iops", "p99"], thresholds: {} }),
        )
      : null;
  return renderPage({
    title: opts.title ?? defaultTitle(results),
    runs,
    data: buildReportData(runs),
    compareHtml,
    generatedAt: opts.generatedAt ?? new Date(),
    toolVersion: toolVersion(),
  });
}
