import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeHistogram } from "../../src/engine/stats.js";
import { defaultResultPath, serializeResult, writeResult } from "../../src/report/result.js";
import { sampleResult } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-result-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("result file", () => {
  it("has the schemaVersion 1 shape", () => {
    const r = sampleResult();
    expect(Object.keys(r)).toEqual([
      "schemaVersion",
      "tool",
      "startedAt",
      "durationSec",
      "interrupted",
      "stopReason",
      "host",
      "workload",
      "target",
      "summary",
      "jobs",
      "timeline",
    ]);
    expect(r.schemaVersion).toBe(1);
    expect(r.tool.name).toBe("iscsi-bench");
    expect(r.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.durationSec).toBe(2);
    expect(r.host.cpus).toBeGreaterThan(0);
    expect(r.host.node).toBe(process.version);
    expect(new Date(r.startedAt).getTime()).toBe(new Date(2026, 10, 25, 9, 5, 7).getTime());
    expect(Object.keys(r.summary.read)).toEqual([
      "ios",
      "bytes",
      "iops",
      "bytesPerSec",
      "latencyUs",
      "serviceTimeUs",
      "histogram",
    ]);
    expect(Object.keys(r.summary.read.latencyUs)).toEqual([
      "min",
      "mean",
      "stddev",
      "p50",
      "p90",
      "p99",
      "p99_9",
      "p99_99",
      "max",
    ]);
    expect(r.summary.read.iops).toBe(1000);
    expect(decodeHistogram(r.summary.read.histogram).totalCount).toBe(2000);
  });

  it("removes secrets from the target URL and the workload", () => {
    const text = serializeResult(sampleResult());
    expect(text).not.toContain("s3cr3t");
    const r = JSON.parse(text);
    expect(r.target.url).toContain("127.0.0.1");
    expect(r.target.url).toContain("iqn.2026-11.io.example:disk");
    expect(r.workload.target).toContain("127.0.0.1");
    expect(r.workload.jobs[0].name).toBe("reader");
  });

  it("names the file results/<name>-<YYYYMMDD-HHMMSS>.json and writes it", () => {
    const when = new Date(2026, 10, 25, 9, 5, 7);
    expect(defaultResultPath("seq-read", when, "/x")).toBe("/x/results/seq-read-20261125-090507.json");
    expect(defaultResultPath("a b/../c", when, "/x")).toBe("/x/results/a_b_.._c-20261125-090507.json");
    const path = writeResult(sampleResult(), join(dir, "sub", "out.json"));
    expect(path).toBe(join(dir, "sub", "out.json"));
    const back = JSON.parse(readFileSync(path, "utf8"));
    expect(back.schemaVersion).toBe(1);
    expect(back.jobs[0].queueDepth).toBe(32);
  });
});
