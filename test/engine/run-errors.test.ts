/**
 * I/O errors are counted per sense key, and a run stops and fails (exit 1, partial result) once
 * they exceed --max-errors: writes to a read-only LUN of the built-in target.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/commands/run.js";
import { type RunningTarget, startTarget } from "../../src/target/index.js";
import { buildDist } from "./e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-errors-"));
let target: RunningTarget;
beforeAll(async () => {
  buildDist();
  target = await startTarget({ port: 0, luns: [{ kind: "memory", sizeBytes: 64 << 20, readOnly: true }] });
}, 180_000);
afterAll(async () => {
  await target?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sink = () => {
  const chunks: string[] = [];
  return { chunks, write: (s: string) => chunks.push(s), isTTY: false };
};

describe("I/O errors", () => {
  it("stops once errors exceed --max-errors, counting them by sense", { timeout: 60_000 }, async () => {
    const workload = join(dir, "w.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "ro",
        duration: "30s",
        jobs: [
          { name: "w", pattern: "random", readPercent: 50, blockSize: "4KiB", queueDepth: 4, size: "8MiB" },
        ],
      }),
    );
    const out = join(dir, "r.json");
    const stderr = sink();
    const started = Date.now();
    const code = await runCommand(
      workload,
      { target: target.url(0), allowWrite: true, maxErrors: 5, out, quiet: true },
      { stdout: sink(), stderr },
    );
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const r = JSON.parse(readFileSync(out, "utf8"));
    expect(r.interrupted).toBe(true);
    expect(r.stopReason).toBe("max-errors");
    expect(r.summary.errors).toBeGreaterThan(5);
    const keys = Object.keys(r.summary.errorsBySense);
    expect(keys.length).toBe(1);
    expect(keys[0]).toMatch(/^DATA PROTECT/);
    expect(r.summary.errorsBySense[keys[0]!]).toBe(r.summary.errors);
    expect(r.summary.read.ios).toBeGreaterThan(0);
    expect(r.summary.write.ios).toBe(0);
    expect(stderr.chunks.join("")).toContain("iscsi-bench: error: more than 5 I/O errors");
  });
});
