/**
 * The built CLI (dist/cli.js) against tgtd: `discover` and `info` output (JSON and text) and the
 * exit codes: 0 success, 1 runtime failure (unreachable, login refused), 2 bad input.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist } from "../engine/e2e.js";
import { freePort, requireTgtd, startTgtd, type Tgtd } from "../helpers/tgtd.js";

requireTgtd();
const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "dist/cli.js");
const T1 = "iqn.2026-11.io.iscsi-bench:cli-one";
const T2 = "iqn.2026-11.io.iscsi-bench:cli-chap";
const CHAP = { user: "cliuser", secret: "cli-secret-4567" };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 30000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

describe("CLI against tgtd", () => {
  let tgtd: Tgtd;
  beforeAll(async () => {
    // The CLI runs from dist/: build it only if src/ changed since, under the lock the other CLI
    // tests take (compiling here unconditionally rewrote dist/ while other files ran the CLI).
    buildDist();
    if (!existsSync(CLI)) throw new Error("npm run build did not produce dist/cli.js");
    tgtd = await startTgtd([
      { iqn: T1, luns: [{ sizeBytes: 8 << 20 }] },
      { iqn: T2, luns: [{ sizeBytes: 4 << 20 }], chap: CHAP },
    ]);
  }, 180_000);
  afterAll(async () => {
    await tgtd?.stop();
  });

  it("dist/cli.js starts with the node shebang", () => {
    expect(readFileSync(CLI, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
  });

  it("discover --json lists the targets and portals", async () => {
    const r = await cli(["discover", `iscsi://127.0.0.1:${tgtd.port}`, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const targets = JSON.parse(r.stdout) as Array<{ name: string; portals: unknown[] }>;
    expect(targets.map((t) => t.name).sort()).toEqual([T1, T2].sort());
    for (const t of targets) expect(t.portals).toEqual([{ host: "127.0.0.1", port: tgtd.port, tpgt: 1 }]);
  });

  it("discover prints each target and its portals", async () => {
    const r = await cli(["discover", `iscsi://127.0.0.1:${tgtd.port}`, "--header-digest"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${T1}\n  127.0.0.1:${tgtd.port},1\n`);
  });

  it("info --json reports identity, capacity and the negotiated parameters", async () => {
    const r = await cli([
      "info",
      `iscsi://127.0.0.1:${tgtd.port}/${T1}/1`,
      "--json",
      "--data-digest",
      "--timeout",
      "10s",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      vendor: "IET",
      product: "VIRTUAL-DISK",
      revision: "0001",
      blockSize: 512,
      blocks: 16384,
      capacityBytes: 8 << 20,
    });
    expect(typeof info["serial"]).toBe("string");
    expect(info["negotiated"]).toMatchObject({
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      errorRecoveryLevel: 0,
    });
  });

  it("info prints a readable report", async () => {
    const r = await cli(["info", `iscsi://127.0.0.1:${tgtd.port}/${T1}/1`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Target: +iqn\.2026-11\.io\.iscsi-bench:cli-one$/m);
    expect(r.stdout).toMatch(/^Capacity: +8388608 bytes \(8 MiB\)$/m);
    expect(r.stdout).toMatch(/^ {2}MaxBurstLength: +262144$/m);
  });

  it("info with CHAP from the URL works and the secret never shows", async () => {
    const ok = await cli([
      "info",
      `iscsi://${CHAP.user}%${CHAP.secret}@127.0.0.1:${tgtd.port}/${T2}/1`,
      "--json",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain(CHAP.secret);
    const bad = await cli(["info", `iscsi://${CHAP.user}%wrong-secret-999@127.0.0.1:${tgtd.port}/${T2}/1`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("iscsi-bench: error: authentication failed\n");
  });

  it("an unknown target exits 1 with one line", async () => {
    const r = await cli(["info", `iscsi://127.0.0.1:${tgtd.port}/iqn.2026-11.io.iscsi-bench:nope/1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("iscsi-bench: error: target not found\n");
  });

  it("an unreachable port exits 1 naming the address", async () => {
    const port = await freePort();
    const r = await cli(["discover", `iscsi://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toContain("ECONNREFUSED");
  });

  it("--debug adds the stack", async () => {
    const port = await freePort();
    const r = await cli(["discover", `iscsi://127.0.0.1:${port}`, "--debug"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").length).toBeGreaterThan(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it("bad input exits 2: a bad URL, a missing LUN, a bad option value, an unknown option", async () => {
    for (const args of [
      ["discover", "http://127.0.0.1"],
      ["info", `iscsi://127.0.0.1:${tgtd.port}/${T1}`],
      ["info", `iscsi://127.0.0.1:${tgtd.port}/${T1}/1`, "--timeout", "soon"],
      ["info", `iscsi://127.0.0.1:${tgtd.port}/${T1}/1`, "--initiator-name", "not-an-iqn"],
      ["discover", `iscsi://127.0.0.1:${tgtd.port}`, "--frobnicate"],
      ["discover"],
      ["nonsense-command"],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n").length, args.join(" ")).toBeLessThanOrEqual(2);
      expect(r.stdout).toBe("");
    }
  });

  it("a bad URL with a secret never echoes the secret", async () => {
    const r = await cli(["info", "iscsi://user%topsecret99@127.0.0.1:99999/iqn.2026-11.x:y/1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("topsecret99");
  });
});
