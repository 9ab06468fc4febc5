/**
 * The fault and limit options on the command line: `target --fault` logs each fault to stderr as
 * it fires, a bad spec or a short CHAP secret is one line and exit 2, `run --fault` injects into
 * the embedded target and is refused for an external one.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, CLI, runCli } from "../engine/e2e.js";
import { RawInitiator, TEST_UNIT_READY } from "./raw-initiator.js";

let dir: string;

beforeAll(() => {
  buildDist();
  dir = mkdtempSync(join(tmpdir(), "fault-cli-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe("target --fault and the limits", () => {
  it("a bad fault spec is one line naming the spec and the bad part, exit 2", async () => {
    const r = await runCli(["target", "--port", "0", "--fault", "stall=5x"], dir, 30_000);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toContain('--fault "stall=5x": bad duration "5x"');
  });

  it("a CHAP secret shorter than 12 bytes is refused without --insecure, never echoed", async () => {
    const r = await runCli(["target", "--port", "0", "--chap", "user:tiny-pw"], dir, 30_000);
    expect(r.code).toBe(2);
    const line = oneLine(r.stderr);
    expect(line).toContain("shorter than 12 bytes");
    expect(line).toContain("--insecure");
    expect(r.stderr + r.stdout).not.toContain("tiny-pw");
  });

  it("bad limits are one line and exit 2", async () => {
    for (const [opt, value] of [
      ["--max-sessions", "0"],
      ["--max-connections", "many"],
      ["--login-timeout", "soon"],
      ["--fault-seed", "-3"],
    ]) {
      const r = await runCli(["target", "--port", "0", opt!, value!], dir, 30_000);
      expect(r.code, `${opt} ${value}`).toBe(2);
      expect(oneLine(r.stderr)).toContain(opt!);
    }
  });

  it("logs each fault on stderr when it fires (close-after=1), URLs on stdout, exit 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "target", "--port", "0", "--lun", "1MiB", "--fault", "close-after=1"],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 20 s: ${stderr}`)), 20_000);
        child.stdout.on("data", (d) => {
          stdout += d;
          if (stdout.includes("\n")) {
            clearTimeout(timer);
            resolve(stdout.split("\n")[0]!);
          }
        });
      });
      const m = /^iscsi:\/\/127\.0\.0\.1:(\d+)\/([^/]+)\/0$/.exec(url);
      expect(m, url).not.toBeNull();
      const c = await RawInitiator.login({
        port: Number(m![1]),
        targetName: m![2]!,
        initiatorName: "iqn.2026-11.io.iscsi-bench:fault-cli",
        isid: 0x800000000001,
      });
      expect((await c.result(c.command(TEST_UNIT_READY))).status).toBe(0);
      await c.closedAt;
      const deadline = Date.now() + 5000;
      while (!stderr.includes("fault close-after=1: closing") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(stderr).toContain("faults: close-after=1 (seed 1)");
      // what backs the LUN is said once, on stderr
      expect(stderr).toMatch(/^LUN 0: memory LUN 1 MiB \((tmpfs|slabs: [^)]+)\)$/m);
      expect(stderr).toContain("fault close-after=1: closing");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

describe("run --fault", () => {
  it("is an InputError with an external target", async () => {
    const r = await runCli(
      [
        "run",
        join(process.cwd(), "workloads", "latency-qd1.json"),
        "--target",
        "iscsi://127.0.0.1:1/iqn.2026-11.x:y/0",
        "--fault",
        "busy=5",
      ],
      dir,
      30_000,
    );
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toContain("--fault: faults are injected by the built-in target only");
  });

  it("a bad spec exits 2 before anything runs", async () => {
    const r = await runCli(
      ["run", join(process.cwd(), "workloads", "latency-qd1.json"), "--fault", "busy=200"],
      dir,
      30_000,
    );
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toContain('--fault "busy=200": bad percent "200"');
  });

  it("injects into the embedded target and logs the fault (stall=300ms on a short run)", async () => {
    const workload = join(dir, "short.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "short",
        duration: "1s",
        rampTime: "0s",
        jobs: [
          {
            name: "r",
            pattern: "random",
            readPercent: 100,
            blockSize: "4KiB",
            queueDepth: 1,
            workers: 1,
            size: "16MiB",
          },
        ],
      }),
    );
    const r = await runCli(
      ["run", workload, "--quiet", "--out", join(dir, "short-result.json"), "--fault", "stall=300ms"],
      dir,
      90_000,
    );
    expect(r.stderr).toContain("faults: stall=300ms (seed 1)");
    expect(r.stderr).toContain("fault stall=300ms: holding every response");
    expect(r.stderr).toContain("fault stall=300ms: released");
    expect(r.code, r.stderr).toBe(0);
  });
});
