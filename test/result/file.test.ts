import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import {
  defaultResultPath,
  MISSING_IN_V1,
  ResultFileError,
  readResult,
  serializeResult,
  writeResult,
} from "../../src/result/file.js";
import { decodeHistogram } from "../../src/result/histogram.js";
import { resultJsonSchemaText } from "../../src/result/schema-file.js";
import { buildFixtureResult, sampleResult } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-result-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real schemaVersion 1 file, written by iscsi-bench 0.1.0 at commit e230d37 (seq-read, 1 s). */
const V1_FILE = new URL("./fixtures/v1-seq-read.json", import.meta.url).pathname;

function writeJson(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof value === "string" ? value : JSON.stringify(value));
  return p;
}

function expectReadError(path: string, message: string): void {
  let caught: unknown;
  try {
    readResult(path);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ResultFileError);
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as Error).message).toBe(message);
}

describe("result file (schemaVersion 3)", () => {
  it("keeps every schemaVersion 1 key, in order, and adds the version 2 ones after them", () => {
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
      "repeat",
      "fingerprint",
      "environment",
      "link",
    ]);
    expect(r.link).toBeNull();
    expect(r.summary.efficiency).toBeNull();
    expect(r.jobs[0]!.efficiency).toBeNull();
    expect(r.schemaVersion).toBe(3);
    expect(r.tool.name).toBe("iscsi-bench");
    expect(r.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.durationSec).toBe(2);
    expect(r.host.node).toBe(process.version);
    expect(r.environment?.cpu.count).toBeGreaterThan(0);
    expect(r.environment?.target.product).toBe("MEMORY");
    expect(r.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(Object.keys(r.summary.read)).toEqual([
      "ios",
      "bytes",
      "iops",
      "bytesPerSec",
      "latencyUs",
      "serviceTimeUs",
      "histogram",
      "serviceHistogram",
    ]);
    expect(r.summary.read.iops).toBe(1000);
    expect(decodeHistogram(r.summary.read.histogram).totalCount).toBe(2000);
    expect(decodeHistogram(r.summary.read.serviceHistogram!).totalCount).toBe(2000);
    const job = r.jobs[0]!;
    expect(job.repetitions).toHaveLength(1);
    expect(job.repetitions![0]!.intervals.map((i) => i.read.ios)).toEqual([1000, 1000]);
    const t = r.timeline[1]!;
    expect(t).toMatchObject({ t: 2, step: 0, repetition: 0, index: 1, ms: 1000, errors: 1 });
    expect(t.read).toMatchObject({ iops: 1000, ios: 1000, bytes: 1000 * 131072, p99Us: 498 });
    expect(decodeHistogram(t.read.histogram!).totalCount).toBe(1000);
  });

  it("adds the recovery counters (version 3) after every older key: per job, repetition, interval and in total", () => {
    const r = buildFixtureResult({
      reps: [
        [
          { ios: 1000, baseUs: 400 },
          { ios: 600, baseUs: 400, outageMs: 400, reconnects: 1 },
        ],
        [{ ios: 1000, baseUs: 400, outageMs: 150, reconnects: 1 }],
      ],
    });
    const recovery = {
      reconnects: 2,
      reinstatements: 2,
      reissued: 0,
      aborts: 0,
      commandTimeouts: 0,
      unitAttentions: 0,
      busyRetries: 0,
      outageMs: 550,
      recoveredBlocks: 0,
    };
    expect(Object.keys(r.summary).at(-1)).toBe("recovery");
    expect(r.summary.recovery).toEqual(recovery);
    const job = r.jobs[0]!;
    expect(job.recovery).toEqual(recovery);
    expect(Object.keys(job).indexOf("recovery")).toBeGreaterThan(Object.keys(job).indexOf("repetitions"));
    expect(job.repetitions!.map((x) => x.recovery!.outageMs)).toEqual([400, 150]);
    expect(job.repetitions![0]!.intervals.map((i) => [i.outageMs, i.reconnects])).toEqual([
      [0, 0],
      [400, 1],
    ]);
    expect(Object.keys(job.repetitions![0]!.intervals[0]!).slice(-2)).toEqual(["outageMs", "reconnects"]);
    expect(r.timeline.map((e) => [e.outageMs, e.reconnects])).toEqual([
      [0, 0],
      [400, 1],
      [150, 1],
    ]);
    const p = writeResult(r, join(dir, "v3.json"));
    expect(readResult(p).result).toEqual(r);
  });

  it("removes secrets from the target URL and the workload", () => {
    const text = serializeResult(sampleResult());
    expect(text).not.toContain("s3cr3t");
    const r = JSON.parse(text);
    expect(r.target.url).toContain("127.0.0.1");
    expect(r.workload.target).toContain("127.0.0.1");
  });

  it("names the file results/<name>-<YYYYMMDD-HHMMSS>.json, writes it and reads it back equal", () => {
    const when = new Date(2026, 10, 25, 9, 5, 7);
    expect(defaultResultPath("seq-read", when, "/x")).toBe("/x/results/seq-read-20261125-090507.json");
    expect(defaultResultPath("a b/../c", when, "/x")).toBe("/x/results/a_b_.._c-20261125-090507.json");
    const r = sampleResult();
    const path = writeResult(r, join(dir, "sub", "out.json"));
    expect(path).toBe(join(dir, "sub", "out.json"));
    const back = readResult(path);
    expect(back.missing).toEqual([]);
    expect(back.result).toEqual(r);
  });
});

describe("readResult: one line naming the file and the JSON path", () => {
  const good = () => JSON.parse(serializeResult(sampleResult()));

  it("a wrong type deep inside", () => {
    const r = good();
    r.summary.read.histogram = 5;
    const p = writeJson("type.json", r);
    expectReadError(p, `${p}: summary.read.histogram: expected string`);
  });

  it("a missing key, with how many more problems there are", () => {
    const r = good();
    delete r.jobs[0].name;
    r.jobs[0].queueDepth = "32";
    const p = writeJson("missing.json", r);
    expectReadError(p, `${p}: jobs[0].name: missing (expected string) (and 1 more)`);
  });

  it("a version 2 file without what version 2 requires", () => {
    const r = good();
    delete r.timeline[0].read.histogram;
    const p = writeJson("v2-missing.json", r);
    expectReadError(p, `${p}: timeline[0].read.histogram: missing (required from schemaVersion 2)`);
  });

  it("no file, a directory, not JSON, not a result, an unknown version", () => {
    expectReadError(join(dir, "nope.json"), `${join(dir, "nope.json")}: file not found`);
    const d = join(dir, "adir");
    mkdirSync(d, { recursive: true });
    expectReadError(d, `${d}: is a directory, expected a result file`);
    const notJson = writeJson("bad.json", "{ not json");
    expect(() => readResult(notJson)).toThrow(
      new RegExp(`^${notJson}: not an iscsi-bench result \\(not JSON: `),
    );
    expectReadError(
      writeJson("arr.json", [1]),
      `${join(dir, "arr.json")}: not an iscsi-bench result (expected a JSON object)`,
    );
    expectReadError(
      writeJson("workload.json", { name: "x", jobs: [] }),
      `${join(dir, "workload.json")}: not an iscsi-bench result (no schemaVersion)`,
    );
    const future = good();
    future.schemaVersion = 4;
    expectReadError(
      writeJson("v4.json", future),
      `${join(dir, "v4.json")}: schemaVersion: unknown version 4 (this iscsi-bench reads 1, 2 and 3; a newer one may read it)`,
    );
  });

  it("a version 3 file without what version 3 requires", () => {
    const r = good();
    delete r.timeline[1].outageMs;
    const p = writeJson("v3-missing.json", r);
    expectReadError(p, `${p}: timeline[1].outageMs: missing (required from schemaVersion 3)`);
    const q = good();
    delete q.jobs[0].recovery;
    delete q.summary.recovery;
    const p2 = writeJson("v3-missing-2.json", q);
    expectReadError(p2, `${p2}: summary.recovery: missing (required from schemaVersion 3) (and 1 more)`);
    const n = good();
    n.jobs[0].recovery.outageMs = -1;
    const p3 = writeJson("v3-negative.json", n);
    expect(() => readResult(p3)).toThrow(new RegExp(`^${p3}: jobs\\[0\\]\\.recovery\\.outageMs: `));
  });
});

describe("schemaVersion 2 files", () => {
  it("are read as they are: no recovery keys, none invented", () => {
    const r = JSON.parse(serializeResult(sampleResult()));
    r.schemaVersion = 2;
    delete r.summary.recovery;
    for (const j of r.jobs) {
      delete j.recovery;
      for (const rep of j.repetitions) {
        delete rep.recovery;
        for (const iv of rep.intervals) {
          delete iv.outageMs;
          delete iv.reconnects;
        }
      }
    }
    for (const e of r.timeline) {
      delete e.outageMs;
      delete e.reconnects;
    }
    const p = writeJson("v2.json", r);
    const { result, missing } = readResult(p);
    expect(result.schemaVersion).toBe(2);
    expect(missing).toEqual([]);
    expect(result.summary.recovery).toBeUndefined();
    expect(result.jobs[0]!.recovery).toBeUndefined();
    expect(result.timeline[0]!.outageMs).toBeUndefined();
    expect(result.summary.read.ios).toBe(2000);
  });
});

describe("schemaVersion 1 files", () => {
  it("are read as they are: what they lack is listed as missing, never filled in", () => {
    const p = join(dir, "v1.json");
    copyFileSync(V1_FILE, p);
    const { result, missing } = readResult(p);
    expect(result.schemaVersion).toBe(1);
    expect(missing).toEqual(MISSING_IN_V1);
    expect(result.fingerprint).toBeUndefined();
    expect(result.environment).toBeUndefined();
    expect(result.repeat).toBeUndefined();
    expect(result.jobs[0]!.repetitions).toBeUndefined();
    expect(result.summary.read.serviceHistogram).toBeUndefined();
    expect(result.timeline[0]!.read.histogram).toBeUndefined();
    // what it has is intact
    expect(result.jobs[0]!.name).toBe("reader");
    expect(result.summary.read.ios).toBeGreaterThan(0);
    expect(decodeHistogram(result.summary.read.histogram).totalCount).toBe(result.summary.read.ios);
  });
});

describe("docs/result.schema.json", () => {
  it("is the JSON Schema generated from the zod schema (regenerate: npm run build && node scripts/gen-schemas.mjs)", () => {
    const file = readFileSync(new URL("../../docs/result.schema.json", import.meta.url), "utf8");
    expect(file).toBe(resultJsonSchemaText());
  });
});
