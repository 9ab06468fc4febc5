/**
 * `iscsi-bench compare <baseline.json>... --against <candidate.json>...`: reads the results,
 * judges every job, step, operation and metric (src/report/compare.ts) and prints the verdicts
 * as a table, markdown or JSON on stdout. Exit 0 when nothing regressed (inconclusive passes
 * unless --inconclusive fail), 1 when something regressed, 2 on bad input (a missing or invalid
 * result, an unknown schemaVersion, results of different work, an unknown option value).
 */
import { InputError } from "../common/errors.js";
import {
  type Comparison,
  compareResults,
  DEFAULT_METRICS,
  DEFAULT_THRESHOLDS,
  METRICS,
  type MetricName,
} from "../report/compare.js";
import {
  COMPARE_FORMATS,
  type CompareFormat,
  compareJson,
  renderCompareMarkdown,
  renderCompareTable,
} from "../report/compare-format.js";
import { type LoadedResult, readResult } from "../result/file.js";
import { type ErrorStream, EXIT_FAILURE, EXIT_OK, reportError } from "./exit.js";

export interface CompareCliOptions {
  against?: string[];
  threshold?: string;
  metric?: string;
  format?: string;
  inconclusive?: string;
  assumedNoise?: string;
  debug?: boolean;
}

export interface CompareIo {
  stdout?: { write(s: string): unknown };
  stderr?: ErrorStream;
}

const THRESHOLD_KEYS = ["throughput", "latency", ...METRICS];

function parsePercent(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(text);
  if (m === null)
    throw new InputError(`${what}: expected a percentage such as 5%, got ${JSON.stringify(text)}`);
  return Number(m[1]);
}

/** "throughput=5%,p99=10%" -> { throughput: 5, p99: 10 }. */
export function parseThresholds(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InputError(`--threshold: "${part}": expected <metric>=<percent>, e.g. p99=10%`);
    const key = part.slice(0, eq).trim();
    if (!THRESHOLD_KEYS.includes(key)) {
      throw new InputError(
        `--threshold: "${part}": unknown metric "${key}" (one of ${THRESHOLD_KEYS.join(", ")})`,
      );
    }
    const v = parsePercent(part.slice(eq + 1), `--threshold: "${part}"`);
    const throughput = key === "throughput" || key === "iops" || key === "bytes";
    if (!(v > 0) || (throughput && v >= 100) || v > 1000) {
      throw new InputError(
        `--threshold: "${part}": must be more than 0% and ${throughput ? "less than 100%" : "at most 1000%"}`,
      );
    }
    out[key] = v;
  }
  return out;
}

/** "iops,p99" -> ["iops", "p99"]. */
export function parseMetrics(text: string): MetricName[] {
  const out: MetricName[] = [];
  for (const m of text.split(",").map((p) => p.trim())) {
    if (m === "") continue;
    if (!(METRICS as readonly string[]).includes(m)) {
      throw new InputError(`--metric: unknown metric "${m}" (one of ${METRICS.join(", ")})`);
    }
    if (!out.includes(m as MetricName)) out.push(m as MetricName);
  }
  if (out.length === 0) throw new InputError(`--metric: expected one or more of ${METRICS.join(", ")}`);
  return out;
}

function parseChoice<T extends string>(
  v: string | undefined,
  choices: readonly T[],
  what: string,
  def: T,
): T {
  if (v === undefined) return def;
  if (!(choices as readonly string[]).includes(v)) {
    throw new InputError(`${what}: expected ${choices.join(" or ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export interface CompareSettings {
  metrics: MetricName[];
  thresholds: Record<string, number>;
  format: CompareFormat;
  failOnInconclusive: boolean;
  assumedRunNoisePct: number;
}

export function compareSettings(o: CompareCliOptions): CompareSettings {
  const noise = o.assumedNoise === undefined ? 10 : parsePercent(o.assumedNoise, "--assumed-noise");
  if (!(noise > 0) || noise > 100)
    throw new InputError("--assumed-noise: must be more than 0% and at most 100%");
  return {
    metrics: o.metric === undefined ? [...DEFAULT_METRICS] : parseMetrics(o.metric),
    thresholds: { ...DEFAULT_THRESHOLDS, ...(o.threshold === undefined ? {} : parseThresholds(o.threshold)) },
    format: parseChoice(o.format, COMPARE_FORMATS, "--format", "table"),
    failOnInconclusive:
      parseChoice(o.inconclusive, ["pass", "fail"] as const, "--inconclusive", "pass") === "fail",
    assumedRunNoisePct: noise,
  };
}

/** The exit code of a comparison: 1 when something regressed (or was inconclusive, when asked). */
export function compareExitCode(c: Comparison, failOnInconclusive: boolean): number {
  if (c.counts.regression > 0) return EXIT_FAILURE;
  if (failOnInconclusive && c.counts.inconclusive > 0) return EXIT_FAILURE;
  return EXIT_OK;
}

export async function compareCommand(
  baselines: string[],
  o: CompareCliOptions,
  io: CompareIo = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    const settings = compareSettings(o);
    const candidates = o.against ?? [];
    if (candidates.length === 0)
      throw new InputError("--against: expected one or more candidate result files");
    const read = (paths: string[]): LoadedResult[] => paths.map((p) => readResult(p));
    const c = compareResults(read(baselines), read(candidates), {
      metrics: settings.metrics,
      thresholds: settings.thresholds,
      assumedRunNoisePct: settings.assumedRunNoisePct,
    });
    const code = compareExitCode(c, settings.failOnInconclusive);
    if (settings.format === "json") stdout.write(`${JSON.stringify(compareJson(c, code), null, 2)}\n`);
    else if (settings.format === "markdown") stdout.write(renderCompareMarkdown(c));
    else stdout.write(`${renderCompareTable(c)}\n`);
    return code;
  } catch (err) {
    return reportError(err, o.debug === true, stderr);
  }
}
