import { describe, expect, it } from "vitest";
import { builtinLunBytes, defaultMaxErrors, hasWrites, phaseSteps } from "../../src/engine/runner.js";
import type { ResolvedJob, ResolvedWorkload } from "../../src/workload/types.js";
import { resolvedJob } from "../helpers/workload-fixtures.js";

function job(name: string, over: Partial<ResolvedJob>): ResolvedJob {
  return resolvedJob({ name, ...over });
}

function workload(jobs: ResolvedJob[]): ResolvedWorkload {
  return {
    name: "w",
    description: "",
    target: null,
    durationMs: 1000,
    rampTimeMs: 0,
    jobs,
    phaseCount: Math.max(...jobs.map((j) => j.phase)) + 1,
  };
}

describe("runner planning", () => {
  it("runs a queue-depth sweep step by step, a single-depth job in every step of its phase", () => {
    const w = workload([
      job("sweep", { queueDepths: [1, 4, 16] }),
      job("background", { queueDepths: [2] }),
      job("later", { phase: 1, queueDepths: [8] }),
    ]);
    const p0 = phaseSteps(w, 0).map((s) => s.map((x) => `${x.job.name}@${x.queueDepth}`));
    expect(p0).toEqual([
      ["sweep@1", "background@2"],
      ["sweep@4", "background@2"],
      ["sweep@16", "background@2"],
    ]);
    expect(phaseSteps(w, 1).map((s) => s.map((x) => `${x.job.name}@${x.queueDepth}`))).toEqual([["later@8"]]);
  });

  it("sizes the built-in LUN to cover every region, at least 1 GiB", () => {
    expect(builtinLunBytes(workload([job("a", { size: 1 << 20 })]))).toBe(1 << 30);
    expect(builtinLunBytes(workload([job("a", { offset: 2 ** 31, size: 2 ** 30 + 512 })]))).toBe(
      2 ** 31 + 2 ** 30 + 2 ** 20,
    );
  });

  it("defaults the error limit to 0 for verify runs, none otherwise; knows a workload writes", () => {
    expect(defaultMaxErrors(workload([job("a", {})]))).toBeNull();
    expect(defaultMaxErrors(workload([job("a", { verify: true, readPercent: 50 })]))).toBe(0);
    expect(hasWrites(workload([job("a", {})]))).toBe(false);
    expect(hasWrites(workload([job("a", {}), job("b", { readPercent: 99 })]))).toBe(true);
  });
});
