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
