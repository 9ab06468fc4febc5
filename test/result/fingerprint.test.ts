import { cpus } from "node:os";
import { describe, expect, it } from "vitest";
import { workloadForResult } from "../../src/result/build.js";
import { buildEnvironment, environmentDiff, toolVersion } from "../../src/result/environment.js";
import { readResult } from "../../src/result/file.js";
import {
  fingerprintDiff,
  fingerprintInput,
  fingerprintOf,
  pacingDiff,
} from "../../src/result/fingerprint.js";
import type { Environment, LinkReport, TargetReport } from "../../src/result/types.js";
import type { ResolvedJob, ResolvedWorkload } from "../../src/workload/types.js";
import { resolvedJob } from "../helpers/workload-fixtures.js";

/** A real schemaVersion 1 file (iscsi-bench 0.1.0, seq-read, 1 s). */
const V1_FILE = new URL("./fixtures/v1-seq-read.json", import.meta.url).pathname;

function base(): ResolvedWorkload {
  return {
    name: "mixed",
    description: "a reader and a writer",
    target: "iscsi://alice%s3cr3t@127.0.0.1:3260/iqn.2026-11.io.example:disk/0",
    durationMs: 30_000,
    rampTimeMs: 2000,
    phaseCount: 1,
    jobs: [
      resolvedJob({
        name: "reader",
        pattern: "sequential",
        blockSizes: [{ bytes: 131072, weight: 1 }],
        queueDepths: [32],
        size: 1 << 30,
        seed: 1,
      }),
      resolvedJob({
        name: "writer",
        readPercent: 30,
        blockSizes: [
          { bytes: 4096, weight: 3 },
          { bytes: 65536, weight: 1 },
        ],
        queueDepths: [1, 8],
        workers: 2,
        offset: 1 << 30,
        size: 1 << 29,
        seed: 7,
      }),
    ],
  };
}

/** The workload as the result file stores it (the only form the fingerprint ever sees). */
const stored = (w: ResolvedWorkload): Record<string, unknown> => workloadForResult(w);
const fp = (w: ResolvedWorkload): string => fingerprintOf(stored(w));

function withJob(over: Partial<ResolvedJob>, index = 1): ResolvedWorkload {
  const w = base();
  w.jobs[index] = { ...w.jobs[index]!, ...over };
  return w;
}

describe("fingerprintOf: equal work, equal fingerprint", () => {
  it("is sha256: and 16 hex digits, the same for the same workload every time", () => {
    expect(fp(base())).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fp(base())).toBe(fp(base()));
  });

  it("whatever the workload's name, description, target URL, seeds or job order", () => {
    const same: ResolvedWorkload[] = [
      { ...base(), name: "other-name" },
      { ...base(), description: "" },
      { ...base(), target: null },
      { ...base(), target: "iscsi://10.0.0.9:3261/iqn.2001-04.com.example:other/3" },
      withJob({ seed: 12345 }),
      withJob({ seed: 99 }, 0),
      { ...base(), jobs: [...base().jobs].reverse() },
    ];
    const expected = fp(base());
    for (const w of same) expect(fp(w)).toBe(expected);
  });

  it("whatever the order of keys in the stored workload, and absent keys count as null", () => {
    const w = stored(base());
    const reordered = Object.fromEntries(Object.entries(w).reverse());
    reordered["jobs"] = (w["jobs"] as Record<string, unknown>[]).map((j) =>
      Object.fromEntries(Object.entries(j).reverse()),
    );
    expect(fingerprintOf(reordered)).toBe(fingerprintOf(w));
    const jobs = w["jobs"] as Record<string, unknown>[];
    const { maxIos: _, ...noMaxIos } = jobs[0]!;
    expect(fingerprintOf({ ...w, jobs: [noMaxIos, jobs[1]] })).toBe(fingerprintOf(w)); // null either way
  });

  it("hashes the work only: durations, and per job (by name) what it does", () => {
    const input = fingerprintInput(stored(base()));
    expect(Object.keys(input).sort()).toEqual(["durationMs", "jobs", "rampTimeMs"]);
    const jobs = input["jobs"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(jobs).sort()).toEqual(["reader", "writer"]);
    expect(Object.keys(jobs["writer"]!).sort()).toEqual(
      [
        "blockSizes",
        "distribution",
        "maxBytes",
        "maxIos",
        "offset",
        "pattern",
        "phase",
        "queueDepths",
        "readPercent",
        "size",
        "verify",
        "workers",
      ].sort(),
    );
  });

  it("a job's rate is left out (it paces the same work); pacingDiff says so", () => {
    const paced = withJob({ rate: { iops: 5000, bytesPerSec: null } });
    expect(fp(paced)).toBe(fp(base()));
    expect(pacingDiff(stored(base()), stored(paced))).toEqual([
      'jobs.writer.rate: null vs {"bytesPerSec":null,"iops":5000}',
    ]);
    expect(pacingDiff(stored(base()), stored(withJob({ seed: 8 })))).toEqual(["jobs.writer.seed: 7 vs 8"]);
    expect(pacingDiff(stored(base()), stored(base()))).toEqual([]);
  });

  it("of a real version 1 file's recorded workload is stable (it is what compare derives for v1)", () => {
    // Changing what the fingerprint hashes makes every stored baseline incomparable: do it on
    // purpose only, and say so in docs/result-schema.md.
    const v1 = readResult(V1_FILE).result;
    expect(v1.fingerprint).toBeUndefined();
    expect(fingerprintOf(v1.workload)).toBe("sha256:eab3bd0052e47adb");
  });
});

describe("fingerprintOf: other work, another fingerprint", () => {
  const changes: Array<[string, ResolvedWorkload]> = [
    ["pattern", withJob({ pattern: "sequential" })],
    ["readPercent", withJob({ readPercent: 31 })],
    [
      "block size",
      withJob({
        blockSizes: [
          { bytes: 8192, weight: 3 },
          { bytes: 65536, weight: 1 },
        ],
      }),
    ],
    [
      "block size weight",
      withJob({
        blockSizes: [
          { bytes: 4096, weight: 1 },
          { bytes: 65536, weight: 1 },
        ],
      }),
    ],
    [
      "block size order",
      withJob({
        blockSizes: [
          { bytes: 65536, weight: 1 },
          { bytes: 4096, weight: 3 },
        ],
      }),
    ],
    ["queue depths", withJob({ queueDepths: [1, 16] })],
    ["queue depth order", withJob({ queueDepths: [8, 1] })],
    ["workers", withJob({ workers: 3 })],
    ["region offset", withJob({ offset: 0 })],
    ["region size", withJob({ size: null })],
    ["distribution", withJob({ distribution: { kind: "zipf", theta: 1.2 } })],
    ["verify", withJob({ verify: true })],
    ["maxIos", withJob({ maxIos: 1000 })],
    ["maxBytes", withJob({ maxBytes: 1 << 20 })],
    ["phase", withJob({ phase: 1 })],
    ["duration", { ...base(), durationMs: 10_000 }],
    ["ramp", { ...base(), rampTimeMs: 0 }],
    ["a job renamed (jobs are keyed by name)", withJob({ name: "writer2" })],
    ["a job more", { ...base(), jobs: [...base().jobs, resolvedJob({ name: "third" })] }],
    ["a job less", { ...base(), jobs: [base().jobs[0]!] }],
    ["the other job's queue depth", withJob({ queueDepths: [64] }, 0)],
  ];

  it.each(changes)("%s", (_what, w) => {
    expect(fp(w)).not.toBe(fp(base()));
  });

  it("every change gives a fingerprint of its own", () => {
    const all = changes.map(([, w]) => fp(w));
    expect(new Set([...all, fp(base())]).size).toBe(changes.length + 1);
  });
});

describe("fingerprintDiff", () => {
  const diff = (a: ResolvedWorkload, b: ResolvedWorkload, max?: number): string[] =>
    fingerprintDiff(stored(a), stored(b), max);

  it("is empty for equal work (names, URL, seed and rate do not count)", () => {
    const w = withJob({ seed: 3, rate: { iops: 10, bytesPerSec: null } });
    expect(diff(base(), { ...w, name: "x", target: null })).toEqual([]);
  });

  it("names each difference by its path, both values as canonical JSON", () => {
    expect(diff(base(), withJob({ queueDepths: [16] }, 0))).toEqual([
      "jobs.reader.queueDepths: [32] vs [16]",
    ]);
    expect(diff(base(), { ...base(), durationMs: 10_000 })).toEqual(["durationMs: 30000 vs 10000"]);
    expect(diff(base(), withJob({ pattern: "sequential", workers: 4 }))).toEqual([
      'jobs.writer.pattern: "random" vs "sequential"',
      "jobs.writer.workers: 2 vs 4",
    ]);
    expect(diff(base(), withJob({ distribution: { kind: "zipf", theta: 1.2 } }))).toEqual([
      'jobs.writer.distribution.kind: "uniform" vs "zipf"',
      "jobs.writer.distribution.theta: (none) vs 1.2",
    ]);
    expect(diff(base(), withJob({ blockSizes: [{ bytes: 4096, weight: 1 }] }))).toEqual([
      'jobs.writer.blockSizes: [{"bytes":4096,"weight":3},{"bytes":65536,"weight":1}] vs [{"bytes":4096,"weight":1}]',
    ]);
  });

  it("says which jobs exist on one side only", () => {
    const lines = diff(base(), withJob({ name: "w2" }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^jobs\.w2: \(none\) vs \{"blockSizes":/);
    expect(lines[1]).toMatch(/^jobs\.writer: \{"blockSizes":.*\} vs \(none\)$/);
  });

  it("gives at most `max` lines (5 by default), in path order", () => {
    const w = withJob({
      pattern: "sequential",
      readPercent: 0,
      workers: 9,
      offset: 0,
      size: 4096,
      verify: true,
    });
    const all = { ...w, durationMs: 1, rampTimeMs: 1 };
    const lines = diff(base(), all);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("durationMs: 30000 vs 1");
    expect(lines.slice(1).every((l) => l.startsWith("jobs.writer."))).toBe(true);
    expect(diff(base(), all, 2)).toEqual(["durationMs: 30000 vs 1", "jobs.writer.offset: 1073741824 vs 0"]);
    expect(diff(base(), all, 100)).toHaveLength(8);
  });
});

describe("environment", () => {
  const target: TargetReport = {
    url: "iscsi://127.0.0.1:3260/iqn.2026-11.io.iscsi-bench:target/0",
    builtin: false,
    lun: 0,
    vendor: "LIO-ORG",
    product: "disk0",
    revision: "4.0",
    blockSize: 512,
    capacityBytes: 1 << 30,
    negotiated: { headerDigest: false, maxRecvDataSegmentLength: 262144, initialR2T: false },
  };
  const link: LinkReport = {
    nominalBitsPerSec: 1e9,
    mtu: 1500,
    delayMs: 0.5,
    emulated: true,
    source: "--link",
  };

  it("buildEnvironment records the tool, Node, the platform, the CPU, the target's identity, the link", () => {
    const e = buildEnvironment(target, link);
    expect(e).toEqual({
      tool: { name: "iscsi-bench", version: toolVersion() },
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpu: { model: expect.any(String), count: cpus().length },
      target: {
        builtin: false,
        vendor: "LIO-ORG",
        product: "disk0",
        revision: "4.0",
        blockSize: 512,
        capacityBytes: 1 << 30,
      },
      negotiated: target.negotiated,
      link,
    });
    expect(e.cpu.model).not.toMatch(/^\s|\s$|\s\s/);
    expect(e.cpu.model.length).toBeGreaterThan(0);
    expect(buildEnvironment(target, null).link).toBeNull();
    // the URL is not part of it: the environment says what the target is, not where
    expect(JSON.stringify(e)).not.toContain("127.0.0.1");
  });

  it("environmentDiff: nothing for equal environments or when one is missing (version 1)", () => {
    const e = buildEnvironment(target, link);
    expect(environmentDiff(e, buildEnvironment(target, link))).toEqual([]);
    expect(environmentDiff(e, undefined)).toEqual([]);
    expect(environmentDiff(undefined, e)).toEqual([]);
  });

  it("environmentDiff: one line per differing key, sorted by key", () => {
    const a = buildEnvironment(target, null);
    const b: Environment = {
      ...a,
      tool: { name: "iscsi-bench", version: "9.9.9" },
      node: "v22.0.0",
      cpu: { model: "Other CPU", count: a.cpu.count + 2 },
      target: { ...a.target, product: "disk1", capacityBytes: 2 ** 31 },
      negotiated: { headerDigest: true, maxRecvDataSegmentLength: 262144, immediateData: true },
      link,
    };
    expect(environmentDiff(a, b)).toEqual([
      `cpu.count: ${a.cpu.count} vs ${a.cpu.count + 2}`,
      `cpu.model: ${a.cpu.model} vs Other CPU`,
      "link: none vs 1 Gbit/s emulated, MTU 1500, 0.5 ms delay",
      "negotiated.headerDigest: false vs true",
      "negotiated.immediateData: (none) vs true",
      "negotiated.initialR2T: false vs (none)",
      `node: ${process.version} vs v22.0.0`,
      "target.capacityBytes: 1073741824 vs 2147483648",
      "target.product: disk0 vs disk1",
      `tool.version: ${toolVersion()} vs 9.9.9`,
    ]);
  });

  it("environmentDiff: no negotiated parameters on one side lists every one of the other's", () => {
    const a = buildEnvironment(target, null);
    const b = { ...a, negotiated: null };
    expect(environmentDiff(a, b)).toEqual([
      "negotiated.headerDigest: false vs (none)",
      "negotiated.initialR2T: false vs (none)",
      "negotiated.maxRecvDataSegmentLength: 262144 vs (none)",
    ]);
  });
});
