/**
 * Assembles a result (schemaVersion 3) from a run's job steps and timeline: the summary through
 * the reducer, the fingerprint of the workload, the environment, the link and how close to it each
 * operation came, secrets removed from the URL and the workload. Nothing here measures; it only puts the measured parts together.
 */
import { redactUrl } from "../iscsi/url.js";
import type { ResolvedWorkload } from "../workload/types.js";
import { efficiencyOf } from "./efficiency.js";
import { buildEnvironment, hostInfo, toolVersion } from "./environment.js";
import { fingerprintOf } from "./fingerprint.js";
import { reduceSummary } from "./reduce.js";
import { SCHEMA_VERSION } from "./schema.js";
import type { JobResult, LinkReport, RunResult, TargetReport, TimelineEntry } from "./types.js";

/** The resolved workload as plain JSON, with the target URL's secrets removed. */
export function workloadForResult(w: ResolvedWorkload): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(w)) as Record<string, unknown>;
  if (typeof copy["target"] === "string") copy["target"] = redactUrl(copy["target"]);
  return copy;
}

export interface ResultInput {
  workload: ResolvedWorkload;
  startedAt: Date;
  interrupted: boolean;
  stopReason: string | null;
  target: TargetReport;
  jobs: JobResult[];
  timeline: TimelineEntry[];
  /** Measured repetitions of every step. */
  repeat: number;
  link?: LinkReport | null;
}

export function buildResult(input: ResultInput): RunResult {
  const workload = workloadForResult(input.workload);
  const target = { ...input.target, url: redactUrl(input.target.url) };
  const link = input.link ?? null;
  // each version's keys after the older ones: efficiency (2), then recovery (3)
  const jobs = input.jobs.map(({ recovery, ...j }) => ({
    ...j,
    efficiency: efficiencyOf(link, target, j),
    ...(recovery !== undefined ? { recovery } : {}),
  }));
  const { durationSec, summary } = reduceSummary(jobs);
  const { recovery, ...totals } = summary;
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "iscsi-bench", version: toolVersion() },
    startedAt: input.startedAt.toISOString(),
    durationSec,
    interrupted: input.interrupted,
    stopReason: input.stopReason,
    host: hostInfo(),
    workload,
    target,
    summary: {
      ...totals,
      efficiency: efficiencyOf(link, target, totals),
      ...(recovery !== undefined ? { recovery } : {}),
    },
    jobs,
    timeline: input.timeline,
    repeat: input.repeat,
    fingerprint: fingerprintOf(workload),
    environment: buildEnvironment(target, link),
    link,
  };
}
