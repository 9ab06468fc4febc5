/**
 * Verification end to end: a block corrupted behind the initiator's back (directly in the file
 * of a file-backed LUN of the built-in target, between the write phase and the read-back) makes
 * the run fail with exit code 3 and that LBA; and SIGINT stops a run cleanly with a partial,
 * interrupted result.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../src/commands/run.js";
import { type RunningTarget, startTarget } from "../../src/target/index.js";
import { buildDist, CLI, checkResult } from "./e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-verify-"));
let target: RunningTarget | null = null;
beforeAll(() => buildDist(), 180_000);
afterAll(async () => {
  await target?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CORRUPT_LBA = 5000;

function sink() {
  const chunks: string[] = [];
  return { chunks, write: (s: string) => chunks.push(s), isTTY: false };
}

describe("verify", () => {
  it("finds a block corrupted in the backing file between the write phase and the read-back", {
    timeout: 120_000,
  }, async () => {
    const lunFile = join(dir, "lun.img");
    target = await startTarget({
      port: 0,
      luns: [{ kind: "file", path: lunFile, sizeBytes: 64 * 1024 * 1024 }],
    });
    const workload = join(dir, "corrupt.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "corrupt",
        duration: "20s",
        phases: [
          // writes every block of the first 4 MiB exactly once
          [
            {
              name: "writer",
              pattern: "sequential",
              readPercent: 0,
              blockSize: "64KiB",
              queueDepth: 4,
              size: "4MiB",
              bytes: "4MiB",
              verify: true,
              seed: 5,
            },
          ],
          // reads (and rewrites) a few blocks at the start, then reads everything back
          [
            {
              name: "checker",
              pattern: "sequential",
              readPercent: 90,
              blockSize: "64KiB",
              queueDepth: 2,
              size: "4MiB",
              ios: 8,
              verify: true,
              seed: 5,
            },
          ],
        ],
      }),
    );
    let tampered = false;
    const out = join(dir, "corrupt-result.json");
    const stderr = sink();
    const stdout = sink();
    const code = await runCommand(
      workload,
      { target: target.url(0), allowWrite: true, out, quiet: true },
      {
        stdout,
        stderr,
        onPhaseEnd: (phase) => {
          if (phase !== 0) return;
          const fd = openSync(lunFile, "r+");
          writeSync(fd, Buffer.alloc(512, 0x5a), 0, 512, CORRUPT_LBA * 512);
          closeSync(fd);
          tampered = true;
        },
      },
    );
    expect(tampered).toBe(true);
    expect(code).toBe(3);
    const result = JSON.parse(readFileSync(out, "utf8"));
    expect(result.target.builtin).toBe(false);
    const v = result.summary.verify;
    expect(v.enabled).toBe(true);
    expect(v.mismatches).toBe(1);
    expect(v.failures[0]).toEqual({
      job: "checker",
      lba: CORRUPT_LBA,
      kind: "corrupt",
      expectedGeneration: 1,
      foundGeneration: null,
    });
    // the write phase itself read everything back without a mismatch
    expect(result.jobs[0].verify.mismatches).toBe(0);
    expect(result.jobs[0].verify.blocksChecked).toBe(8192);
    expect(result.jobs[0].write.bytes).toBe(4 * 1024 * 1024);
    const err = stderr.chunks.join("");
    expect(err).toContain(`verification failed: 1 mismatch(es), first at LBA ${CORRUPT_LBA} (corrupt)`);
    expect(err).toContain(`checker: LBA ${CORRUPT_LBA}: corrupt`);
    expect(stdout.chunks.join("").trim()).toBe(out);
  });

  it("a verify run on the built-in target finds no mismatch", { timeout: 120_000 }, async () => {
    const workload = join(dir, "clean.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "clean",
        duration: "2s",
        jobs: [
          {
            name: "mix",
            pattern: "random",
            readPercent: 50,
            blockSize: { "4KiB": 50, "16KiB": 50 },
            queueDepth: 16,
            workers: 2,
            size: "8MiB",
            verify: true,
            seed: 3,
          },
        ],
      }),
    );
    const out = join(dir, "clean-result.json");
    const code = await runCommand(workload, { out, quiet: true }, { stdout: sink(), stderr: sink() });
    expect(code).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8"));
    checkResult(result, true);
    expect(result.summary.verify.blocksChecked).toBeGreaterThan(0);
    expect(result.summary.write.ios).toBeGreaterThan(0);
  });
});

describe("SIGINT", () => {
  it("stops cleanly and writes a partial result marked interrupted", { timeout: 60_000 }, async () => {
    const workload = join(dir, "long.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "long",
        duration: "60s",
        jobs: [
          {
            name: "r",
            pattern: "random",
            readPercent: 100,
            blockSize: "4KiB",
            queueDepth: 4,
            workers: 2,
            size: "16MiB",
          },
        ],
      }),
    );
    const out = join(dir, "long-result.json");
    const child = spawn(process.execPath, [CLI, "run", workload, "--out", out], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const started = Date.now();
    const exit = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    // SIGINT once the first progress line shows I/O is running
    await new Promise<void>((res) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (/\[\d+s\/60s\]/.test(stderr)) res();
      });
    });
    child.kill("SIGINT");
    const code = await exit;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(code).toBe(1);
    expect(stderr).toContain("stopping");
    expect(existsSync(out)).toBe(true);
    expect(stdout.trim()).toBe(out);
    const r = JSON.parse(readFileSync(out, "utf8"));
    expect(r.interrupted).toBe(true);
    expect(r.stopReason).toBe("interrupted");
    expect(r.summary.read.ios).toBeGreaterThan(0);
    expect(r.summary.errors).toBe(0);
    expect(r.durationSec).toBeLessThan(30);
  });
});
