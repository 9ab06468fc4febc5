/**
 * `iscsi-bench report <result.json>... -o report.html [--title <text>] [--baseline <result.json>...]`:
 * one self-contained HTML file (src/report/html/) that shows the results side by side and, with
 * baselines, compare's verdict on them. The report's path goes to stdout, its size to stderr.
 * Exit 0 once written (a regression is shown, not gated: gate with `compare`), 2 on bad input (a
 * missing or invalid result, an unknown schemaVersion, baselines of different work, a bad option).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InputError } from "../common/errors.js";
import { buildHtmlReport } from "../report/html/report.js";
import { readResult } from "../result/file.js";
import { compareSettings } from "./compare.js";
import { type ErrorStream, EXIT_OK, reportError } from "./exit.js";

export interface ReportCliOptions {
  out?: string;
  title?: string;
  baseline?: string[];
  metric?: string;
  threshold?: string;
  assumedNoise?: string;
  debug?: boolean;
}

export interface ReportIo {
  stdout?: { write(s: string): unknown };
  stderr?: ErrorStream;
}

/** "a.json" -> "a.html" */
export function defaultReportPath(first: string): string {
  return first.replace(/\.json$/i, "") + ".html";
}

function writeReport(path: string, html: string): string {
  const abs = resolve(path);
  try {
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, html);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot write the report (${code ?? String(err)})`);
  }
  return abs;
}

export async function reportCommand(
  files: string[],
  o: ReportCliOptions,
  io: ReportIo = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    if (files.length === 0) throw new InputError("report: expected one or more result files");
    if (o.baseline !== undefined && o.baseline.length === 0)
      throw new InputError("--baseline: expected one or more baseline result files");
    const settings = compareSettings({
      metric: o.metric,
      threshold: o.threshold,
      assumedNoise: o.assumedNoise,
    });
    const results = files.map((f) => readResult(f));
    const baselines = (o.baseline ?? []).map((f) => readResult(f));
    const html = buildHtmlReport(results, {
      title: o.title,
      baselines,
      compare: {
        metrics: settings.metrics,
        thresholds: settings.thresholds,
        assumedRunNoisePct: settings.assumedRunNoisePct,
      },
    });
    const out = o.out ?? defaultReportPath(files[0]!);
    writeReport(out, html);
    const n = results.length + baselines.length;
    stderr.write(
      `report: ${n} result${n === 1 ? "" : "s"}, ${(Buffer.byteLength(html) / 1024).toFixed(1)} KiB\n`,
    );
    stdout.write(`${out}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportError(err, o.debug === true, stderr);
  }
}
