import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createIoGenerator } from "../../src/workload/generator.js";
import { loadWorkloadFile } from "../../src/workload/load.js";
import { workloadJsonSchema, workloadJsonSchemaText } from "../../src/workload/schema-file.js";
import type { IoSpec } from "../../src/workload/types.js";

const DIR = "workloads";
const EXAMPLES = [
  "seq-read.json",
  "seq-write.json",
  "rand-read-4k.json",
  "rand-write-4k.json",
  "mixed-70-30.json",
  "latency-qd1.json",
  "qd-sweep.json",
  "verify.json",
  "rate-limited.json",
];

describe("workloads/workload.schema.json", () => {
  it("equals the schema generated from the zod schema (regenerate: npm run build && node scripts/gen-schemas.mjs)", () => {
    expect(readFileSync(join(DIR, "workload.schema.json"), "utf8")).toBe(workloadJsonSchemaText());
  });

  it("describes every job key with its default", () => {
    const schema = workloadJsonSchema() as {
      properties: {
        jobs: {
          items: { properties: Record<string, { description?: string }>; additionalProperties: boolean };
        };
      };
    };
    const job = schema.properties.jobs.items;
    expect(job.additionalProperties).toBe(false);
    for (const key of [
      "pattern",
      "readPercent",
      "blockSize",
      "queueDepth",
      "workers",
      "offset",
      "size",
      "distribution",
      "rate",
      "verify",
      "seed",
    ]) {
      expect(job.properties[key]?.description, key).toMatch(/Default/);
    }
  });
});

describe("example workloads", () => {
  it("are all present", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".json") && f !== "workload.schema.json");
    expect(files.sort()).toEqual([...EXAMPLES].sort());
  });

  it.each(EXAMPLES)("%s loads, points at the schema, and generates I/O on a 1 GiB LUN", (file) => {
    const path = join(DIR, file);
    const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    expect(raw["$schema"]).toBe("./workload.schema.json");
    const w = loadWorkloadFile(path);
    expect(w.name).toBe(file.replace(/\.json$/, ""));
    expect(w.description.length).toBeGreaterThan(10);
    expect(w.durationMs).toBeGreaterThanOrEqual(10_000);
    for (const job of w.jobs) {
      for (let worker = 0; worker < job.workers; worker++) {
        const gen = createIoGenerator(job, {
          lunBlockSize: 512,
          lunBytes: 1024 ** 3,
          workerIndex: worker,
          workerCount: job.workers,
          seed: job.seed,
        });
        const io: IoSpec = { read: true, offset: 0, length: 0 };
        for (let i = 0; i < 100; i++) {
          gen.next(io);
          expect(io.offset + io.length).toBeLessThanOrEqual(1024 ** 3);
        }
      }
    }
  });

  it("cover the features they are named after", () => {
    const load = (f: string) => loadWorkloadFile(join(DIR, f)).jobs[0]!;
    expect(load("seq-read.json")).toMatchObject({
      pattern: "sequential",
      readPercent: 100,
      queueDepths: [32],
    });
    expect(load("seq-write.json")).toMatchObject({ pattern: "sequential", readPercent: 0 });
    expect(load("rand-read-4k.json")).toMatchObject({
      pattern: "random",
      readPercent: 100,
      blockSizes: [{ bytes: 4096, weight: 1 }],
    });
    expect(load("rand-write-4k.json")).toMatchObject({ pattern: "random", readPercent: 0 });
    expect(load("mixed-70-30.json")).toMatchObject({ readPercent: 70 });
    expect(load("latency-qd1.json")).toMatchObject({ queueDepths: [1], workers: 1 });
    expect(load("qd-sweep.json").queueDepths).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(load("verify.json")).toMatchObject({ verify: true });
    expect(load("rate-limited.json").rate).toEqual({ iops: 2000, bytesPerSec: null });
  });
});
