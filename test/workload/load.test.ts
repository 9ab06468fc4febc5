import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { loadWorkloadFile, resolveWorkload, WorkloadError } from "../../src/workload/load.js";

const F = "workloads/x.json";

function messageOf(raw: unknown): string {
  try {
    resolveWorkload(raw, F);
  } catch (err) {
    expect(err).toBeInstanceOf(WorkloadError);
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error("expected a WorkloadError");
}

const job = (extra: Record<string, unknown>) => ({ jobs: [{ name: "a", ...extra }] });

describe("resolveWorkload: bad input, exact messages", () => {
  it.each<[string, unknown, string]>([
    [
      "queue depth not a number (the issue's example)",
      job({ queueDepth: "deep" }),
      `${F}: jobs[0].queueDepth: expected an integer from 1 to 65536, got "deep"`,
    ],
    [
      "queue depth too large",
      job({ queueDepth: 70000 }),
      `${F}: jobs[0].queueDepth: expected an integer from 1 to 65536, got 70000`,
    ],
    [
      "bad entry in a queue depth sweep",
      job({ queueDepth: [1, 2, "x"] }),
      `${F}: jobs[0].queueDepth[2]: expected an integer from 1 to 65536, got "x"`,
    ],
    [
      "empty queue depth sweep",
      job({ queueDepth: [] }),
      `${F}: jobs[0].queueDepth: expected a non-empty list of integers from 1 to 65536, got []`,
    ],
    [
      "unknown job key, with a hint",
      job({ queueDeph: 4 }),
      `${F}: jobs[0].queueDeph: unknown key (did you mean "queueDepth"?)`,
    ],
    [
      "unknown top-level key, with a hint, and more problems",
      { job: [], jobs: [{ name: "a", workers: 0 }] },
      `${F}: jobs[0].workers: expected an integer from 1 to 256, got 0 (and 1 more)`,
    ],
    ["unknown top-level key", { jobz: [{}], jobs: [{}] }, `${F}: jobz: unknown key (did you mean "jobs"?)`],
    ["unknown key without a likely match", job({ colour: "red" }), `${F}: jobs[0].colour: unknown key`],
    [
      "block size not a multiple of 512",
      job({ blockSize: "1000" }),
      `${F}: jobs[0].blockSize: expected a multiple of 512 bytes from 512B to 64MiB, got "1000"`,
    ],
    [
      "block size not a size at all",
      job({ blockSize: "big" }),
      `${F}: jobs[0].blockSize: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got "big"`,
    ],
    [
      "block size of the wrong type",
      job({ blockSize: true }),
      `${F}: jobs[0].blockSize: expected a size such as 4096, "4KiB", "1GiB" or "50MB", or an object of sizes and weights such as {"4KiB": 70, "64KiB": 30}, got true`,
    ],
    [
      "bad size in block-size weights",
      job({ blockSize: { "4KiB": 70, "1000B": 30 } }),
      `${F}: jobs[0].blockSize["1000B"]: expected a multiple of 512 bytes from 512B to 64MiB, got "1000B"`,
    ],
    [
      "bad weight",
      job({ blockSize: { "4KiB": 0 } }),
      `${F}: jobs[0].blockSize["4KiB"]: expected a positive weight, got 0`,
    ],
    [
      "the same block size twice in weights",
      job({ blockSize: { "4096": 1, "4KiB": 1 } }),
      `${F}: jobs[0].blockSize["4KiB"]: expected each block size once, got the same size as "4096"`,
    ],
    [
      "offset not a multiple of 512",
      job({ offset: 1000 }),
      `${F}: jobs[0].offset: expected a multiple of 512 bytes, got 1000`,
    ],
    [
      "size not a multiple of 512",
      job({ size: "1.5KB" }),
      `${F}: jobs[0].size: expected a multiple of 512 bytes of at least 512B, got "1.5KB"`,
    ],
    [
      "size smaller than the block size",
      job({ size: "4KiB", blockSize: "64KiB" }),
      `${F}: jobs[0].size: expected a region of at least the largest block size (64KiB), got "4KiB"`,
    ],
    [
      "pattern misspelt",
      job({ pattern: "sequental" }),
      `${F}: jobs[0].pattern: expected "sequential" or "random", got "sequental" (did you mean "sequential"?)`,
    ],
    [
      "readPercent out of range",
      job({ readPercent: 120 }),
      `${F}: jobs[0].readPercent: expected a number from 0 to 100, got 120`,
    ],
    [
      "unknown distribution",
      job({ pattern: "random", distribution: "zipfian" }),
      `${F}: jobs[0].distribution: expected "uniform", "zipf:<theta>", "pareto:<h>" or "normal:<percent>", got "zipfian"`,
    ],
    [
      "pareto parameter out of range",
      job({ pattern: "random", distribution: "pareto:1.5" }),
      `${F}: jobs[0].distribution: expected pareto:<h> with 0 < h < 1, got "pareto:1.5"`,
    ],
    [
      "sequential job with a distribution",
      job({ pattern: "sequential", distribution: "zipf:1.2" }),
      `${F}: jobs[0].distribution: expected "uniform" for a sequential job (distributions apply to random jobs), got "zipf:1.2"`,
    ],
    [
      "rate with both iops and bytesPerSec",
      job({ rate: { iops: 100, bytesPerSec: "1MiB" } }),
      `${F}: jobs[0].rate: expected exactly one of "iops" or "bytesPerSec", got {"iops":100,"bytesPerSec":"1MiB"}`,
    ],
    [
      "rate key misspelt",
      job({ rate: { iop: 100 } }),
      `${F}: jobs[0].rate.iop: unknown key (did you mean "iops"?) (and 1 more)`,
    ],
    [
      "verify without writes",
      job({ verify: true }),
      `${F}: jobs[0].verify: expected writes in a verify job (readPercent below 100): only blocks the job writes can be checked`,
    ],
    [
      "verify not a boolean",
      job({ verify: "yes" }),
      `${F}: jobs[0].verify: expected true or false, got "yes"`,
    ],
    [
      "duplicate job names",
      { jobs: [{ name: "a" }, { name: "b" }, { name: "a" }] },
      `${F}: jobs[2].name: duplicate job name "a" (also jobs[0])`,
    ],
    [
      "after names an unknown job",
      {
        jobs: [
          { name: "writer", readPercent: 0 },
          { name: "reader", after: "wrtier" },
        ],
      },
      `${F}: jobs[1].after: expected the name of a job in this file, got "wrtier" (did you mean "writer"?)`,
    ],
    [
      "after names the job itself",
      { jobs: [{ name: "a", after: "a" }] },
      `${F}: jobs[0].after: expected another job's name, got the job's own name`,
    ],
    [
      "after cycle",
      {
        jobs: [
          { name: "a", after: "b" },
          { name: "b", after: "a" },
        ],
      },
      `${F}: jobs[1].after: expected no cycle, but "a" runs after this job`,
    ],
    [
      "bad job name",
      job({ name: "my job" }),
      `${F}: jobs[0].name: expected a name of 1 to 64 letters, digits, ".", "_" or "-" (starting with a letter or digit), got "my job"`,
    ],
    [
      "missing jobs",
      { name: "x" },
      `${F}: missing "jobs" (jobs that run together) or "phases" (groups of jobs run one after another)`,
    ],
    [
      "both jobs and phases",
      { jobs: [{}], phases: [[{}]] },
      `${F}: phases: expected "jobs" or "phases", not both, got [[{}]]`,
    ],
    ["empty jobs", { jobs: [] }, `${F}: jobs: expected at least one job, got []`],
    ["empty phase", { phases: [[{}], []] }, `${F}: phases[1]: expected at least one job, got []`],
    ["not an object", [1, 2], `${F}: expected a JSON object, got [1,2]`],
    ["job not an object", { jobs: ["reader"] }, `${F}: jobs[0]: expected a job object, got "reader"`],
    [
      "bad duration",
      { duration: "30 secs", jobs: [{}] },
      `${F}: duration: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "30 secs"`,
    ],
    [
      "zero duration",
      { duration: 0, jobs: [{}] },
      `${F}: duration: expected a duration of at least 1ms, got 0`,
    ],
    [
      "ramp time not shorter than the duration",
      { duration: "10s", rampTime: "10s", jobs: [{}] },
      `${F}: rampTime: expected a ramp time shorter than the duration (10s), got "10s"`,
    ],
    [
      "target that is not an iSCSI URL",
      { target: "http://x", jobs: [{}] },
      `${F}: target: expected an iSCSI URL such as "iscsi://host/iqn.2003-01.org.example:disk/1", got "http://x"`,
    ],
    [
      "seed out of range",
      job({ seed: -1 }),
      `${F}: jobs[0].seed: expected an integer from 0 to 4294967295, got -1`,
    ],
    ["ios limit not positive", job({ ios: 0 }), `${F}: jobs[0].ios: expected a positive integer, got 0`],
    [
      "two verify jobs overlapping",
      {
        jobs: [
          { name: "v1", readPercent: 0, verify: true, size: "1GiB" },
          { name: "v2", readPercent: 50, verify: true, offset: "512MiB", size: "1GiB" },
        ],
      },
      `${F}: jobs[1].offset: expected a region apart from verify job "v1" (both run at the same time and this one writes), got an overlapping region`,
    ],
  ])("%s", (_title, raw, expected) => {
    expect(messageOf(raw)).toBe(expected);
  });
});

describe("resolveWorkload: resolution", () => {
  it("fills every default", () => {
    const w = resolveWorkload({ jobs: [{}] }, "workloads/my-test.json");
    expect(w).toEqual({
      name: "my-test",
      description: "",
      target: null,
      durationMs: 30_000,
      rampTimeMs: 0,
      phaseCount: 1,
      jobs: [
        {
          name: "job1",
          pattern: "sequential",
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
        },
      ],
    });
  });

  it("resolves units, weights, sweeps, distributions, rates and limits", () => {
    const w = resolveWorkload(
      {
        $schema: "./workload.schema.json",
        name: "mix",
        description: "d",
        target: "iscsi://127.0.0.1/iqn.2026-11.io.example:t/0",
        duration: "2m",
        rampTime: "500ms",
        jobs: [
          {
            name: "r",
            pattern: "random",
            readPercent: 70,
            blockSize: { "4KiB": 70, "64k": 30 },
            queueDepth: [1, 8, 32],
            workers: 4,
            offset: "1MiB",
            size: "1GB",
            distribution: "zipf:1.2",
            rate: { bytesPerSec: "100MiB" },
            seed: 42,
            ios: 1000,
            bytes: "10GiB",
          },
        ],
      },
      F,
    );
    expect(w.name).toBe("mix");
    expect(w.target).toBe("iscsi://127.0.0.1/iqn.2026-11.io.example:t/0");
    expect(w.durationMs).toBe(120_000);
    expect(w.rampTimeMs).toBe(500);
    const j = w.jobs[0]!;
    expect(j.blockSizes).toEqual([
      { bytes: 4096, weight: 70 },
      { bytes: 65536, weight: 30 },
    ]);
    expect(j.queueDepths).toEqual([1, 8, 32]);
    expect(j.offset).toBe(1048576);
    expect(j.size).toBe(1_000_000_000);
    expect(j.distribution).toEqual({ kind: "zipf", theta: 1.2 });
    expect(j.rate).toEqual({ iops: null, bytesPerSec: 100 * 1048576 });
    expect(j.maxIos).toBe(1000);
    expect(j.maxBytes).toBe(10 * 1024 ** 3);
    expect(j.seed).toBe(42);
  });

  it("puts jobs in phases: phases[] order, then 'after' (stonewall)", () => {
    const w = resolveWorkload(
      {
        phases: [
          [
            { name: "fill", readPercent: 0 },
            { name: "warm", after: "fill" },
          ],
          [{ name: "read" }],
        ],
      },
      F,
    );
    // fill: 0; warm: after fill -> 1; read: group 1 -> 1. Phases are numbered densely.
    expect(w.jobs.map((j) => [j.name, j.phase])).toEqual([
      ["fill", 0],
      ["warm", 1],
      ["read", 1],
    ]);
    expect(w.phaseCount).toBe(2);

    const chain = resolveWorkload(
      {
        jobs: [
          { name: "c", after: "b" },
          { name: "a", readPercent: 0 },
          { name: "b", after: "a" },
          { name: "d" },
        ],
      },
      F,
    );
    expect(chain.jobs.map((j) => j.phase)).toEqual([2, 0, 1, 0]);
    expect(chain.phaseCount).toBe(3);
  });
});

describe("loadWorkloadFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-wl-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  const loadMessage = (p: string): string => {
    try {
      loadWorkloadFile(p);
    } catch (err) {
      expect(err).toBeInstanceOf(WorkloadError);
      return (err as Error).message;
    }
    throw new Error("expected a WorkloadError");
  };

  it("reports a missing file", () => {
    const p = join(dir, "nope.json");
    expect(loadMessage(p)).toBe(`${p}: file not found`);
  });

  it("reports a directory", () => {
    const p = join(dir, "sub");
    mkdirSync(p);
    expect(loadMessage(p)).toBe(`${p}: is a directory, expected a workload file`);
  });

  it("reports invalid JSON with line and column", () => {
    const p = file("bad.json", '{\n  "name": "x",\n  "jobs": [ { "name": "a" } ]\n  "duration": 2\n}\n');
    expect(loadMessage(p)).toBe(`${p}: invalid JSON at line 4, column 3: unexpected "\\""`);
  });

  it("reports truncated JSON", () => {
    const p = file("short.json", '{ "jobs": [');
    expect(loadMessage(p)).toBe(`${p}: invalid JSON at line 1, column 12: unexpected end of input`);
  });

  it("loads a valid file, names the workload after it, and accepts a BOM", () => {
    const p = file("bom-test.json", '\ufeff{ "jobs": [ { "readPercent": 0, "blockSize": "8KiB" } ] }');
    const w = loadWorkloadFile(p);
    expect(w.name).toBe("bom-test");
    expect(w.jobs[0]!.readPercent).toBe(0);
    expect(w.jobs[0]!.blockSizes).toEqual([{ bytes: 8192, weight: 1 }]);
  });

  it("names the file in validation errors", () => {
    const p = file("qd.json", JSON.stringify(job({ queueDepth: "deep" })));
    expect(loadMessage(p)).toBe(`${p}: jobs[0].queueDepth: expected an integer from 1 to 65536, got "deep"`);
  });
});
