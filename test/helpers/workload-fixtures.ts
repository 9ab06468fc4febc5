import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedJob } from "../../src/workload/types.js";

/** A resolved job with the loader's defaults except a random pattern; `over` replaces fields. */
export function resolvedJob(over: Partial<ResolvedJob> = {}): ResolvedJob {
  return {
    name: "j",
    pattern: "random",
    readPercent: 100,
    blockSizes: [{ bytes: 4096, weight: 1 }],
    queueDepths: [1],
    workers: 1,
    offset: 0,
    size: null,
    distribution: { kind: "uniform" },
    rate: null,
    verify: false,
    seed: 1,
    maxIos: null,
    maxBytes: null,
    phase: 0,
    ...over,
  };
}

/**
 * Writes `<dir>/<name>.json`: a verify workload of one worker (one session), random 50/50 reads
 * and writes of stamped 4-64 KiB blocks over 64 MiB, no ramp; `extra` adds job fields. Returns its path.
 */
export function writeVerifyWorkload(
  dir: string,
  name: string,
  duration: string,
  seed: number,
  extra: Record<string, unknown> = {},
): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      duration,
      rampTime: 0,
      jobs: [
        {
          name: "verify",
          pattern: "random",
          readPercent: 50,
          blockSize: { "4KiB": 60, "16KiB": 25, "64KiB": 15 },
          queueDepth: 8,
          workers: 1,
          size: "64MiB",
          verify: true,
          seed,
          ...extra,
        },
      ],
    }),
  );
  return file;
}
