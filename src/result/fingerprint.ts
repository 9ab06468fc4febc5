/**
 * The fingerprint of a result: a hash of the resolved workload's measured work (sizes, pattern,
 * mix, block sizes, queue depths, workers, region, distribution, verify, I/O limits, duration and
 * ramp, phases). Two results with the same fingerprint measured the same work, wherever and
 * whenever they ran; what they ran on is the environment's business. Jobs are keyed by their
 * names (compare pairs them by name), so renaming a job changes it. Left out on purpose: the
 * workload's name and description, the target URL (the environment says which target), the seed (it picks
 * offsets and data, not the amount or kind of work), the repetition count (how often, not what)
 * and a job's `rate`: a rate limit paces the same work, and comparing a paced candidate with an
 * unpaced baseline is a question compare must be able to answer (it notes the difference).
 */
import { createHash } from "node:crypto";

const JOB_KEYS = [
  "name",
  "pattern",
  "readPercent",
  "blockSizes",
  "queueDepths",
  "workers",
  "offset",
  "size",
  "distribution",
  "verify",
  "maxIos",
  "maxBytes",
  "phase",
] as const;

/** Stable JSON: object keys sorted, so that equal content gives equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * What the fingerprint hashes, from a resolved workload as the result file stores it. Jobs are
 * keyed by name (the name is how compare pairs them), so their order does not matter.
 */
export function fingerprintInput(workload: Record<string, unknown>): Record<string, unknown> {
  const jobs = Array.isArray(workload["jobs"]) ? (workload["jobs"] as Record<string, unknown>[]) : [];
  const byName: Record<string, unknown> = {};
  for (const j of jobs) {
    const picked: Record<string, unknown> = {};
    for (const k of JOB_KEYS) if (k !== "name") picked[k] = j[k] ?? null;
    byName[String(j["name"])] = picked;
  }
  return {
    durationMs: workload["durationMs"] ?? null,
    rampTimeMs: workload["rampTimeMs"] ?? null,
    jobs: byName,
  };
}

/** "sha256:" and the first 16 hex digits of the hash of `fingerprintInput(workload)`. */
export function fingerprintOf(workload: Record<string, unknown>): string {
  const h = createHash("sha256")
    .update(canonical(fingerprintInput(workload)))
    .digest("hex");
  return `sha256:${h.slice(0, 16)}`;
}

/** Differences the fingerprint leaves out on purpose but a reader should know of (rates, seeds). */
export function pacingDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const jobs = (w: Record<string, unknown>): Map<string, Record<string, unknown>> =>
    new Map(
      (Array.isArray(w["jobs"]) ? (w["jobs"] as Record<string, unknown>[]) : []).map((j) => [
        String(j["name"]),
        j,
      ]),
    );
  const ja = jobs(a);
  const jb = jobs(b);
  const out: string[] = [];
  for (const [name, x] of ja) {
    const y = jb.get(name);
    if (y === undefined) continue;
    for (const k of ["rate", "seed"]) {
      if (canonical(x[k] ?? null) !== canonical(y[k] ?? null)) {
        out.push(`jobs.${name}.${k}: ${canonical(x[k] ?? null)} vs ${canonical(y[k] ?? null)}`);
      }
    }
  }
  return out;
}

/**
 * What differs between two workloads' fingerprint inputs, as "jobs.reader.queueDepths: [32] vs
 * [16]" lines (at most `max`), for the message that refuses to compare them.
 */
export function fingerprintDiff(a: Record<string, unknown>, b: Record<string, unknown>, max = 5): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (out.length >= max) return;
    const xo = x !== null && typeof x === "object" && !Array.isArray(x);
    const yo = y !== null && typeof y === "object" && !Array.isArray(y);
    if (xo && yo) {
      const xr = x as Record<string, unknown>;
      const yr = y as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(xr), ...Object.keys(yr)])].sort();
      for (const k of keys) walk(xr[k], yr[k], path ? `${path}.${k}` : k);
      return;
    }
    if (canonical(x) !== canonical(y)) {
      const show = (v: unknown): string => (v === undefined ? "(none)" : canonical(v));
      out.push(`${path}: ${show(x)} vs ${show(y)}`);
    }
  };
  walk(fingerprintInput(a), fingerprintInput(b), "");
  return out;
}
