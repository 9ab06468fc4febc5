/**
 * The engine against a real target (tgtd): seq-read, rand-read-4k and mixed-70-30 run for 2 s
 * and produce a result that matches the contract; a verify run finds zero mismatches.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTgtd, startTgtd, type Tgtd } from "../helpers/tgtd.js";
import { buildDist, checkResult, runCli, WORKLOADS } from "./e2e.js";

requireTgtd();
const IQN = "iqn.2026-11.io.iscsi-bench:engine-run";
const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-tgtd-run-"));

describe("run against tgtd", () => {
  let tgtd: Tgtd;
  beforeAll(async () => {
    buildDist();
    tgtd = await startTgtd([{ iqn: IQN, luns: [{ sizeBytes: 1024 * 1024 * 1024 }] }]);
  }, 180_000);
  afterAll(async () => {
    await tgtd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ["seq-read", "rand-read-4k", "mixed-70-30"]) {
    it(`${name}.json`, { timeout: 120_000 }, async () => {
      const out = join(dir, `${name}.json`);
      const r = await runCli(
        [
          "run",
          join(WORKLOADS, `${name}.json`),
          "--target",
          tgtd.url(IQN, 1),
          "--allow-write",
          "--duration",
          "2s",
          "--out",
          out,
          "--quiet",
        ],
        dir,
      );
      expect(r.stderr).not.toContain("iscsi-bench: error");
      expect(r.code).toBe(0);
      const result = JSON.parse(readFileSync(out, "utf8"));
      checkResult(result, false);
      expect(result.target.vendor.trim()).not.toBe("");
      expect(result.target.url).toBe(tgtd.url(IQN, 1));
    });
  }

  it("a verify run finds zero mismatches", { timeout: 120_000 }, async () => {
    const workload = join(dir, "verify-tgtd.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "verify-tgtd",
        duration: "2s",
        jobs: [
          {
            name: "mix",
            pattern: "random",
            readPercent: 50,
            blockSize: { "4KiB": 60, "64KiB": 40 },
            queueDepth: 8,
            workers: 2,
            size: "16MiB",
            verify: true,
            seed: 11,
          },
        ],
      }),
    );
    const out = join(dir, "verify-tgtd-result.json");
    const r = await runCli(
      ["run", workload, "--target", tgtd.url(IQN, 1), "--allow-write", "--out", out],
      dir,
    );
    expect(r.stderr).not.toContain("iscsi-bench: error");
    expect(r.code).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8"));
    checkResult(result, false);
    expect(result.summary.verify.enabled).toBe(true);
    expect(result.summary.verify.blocksChecked).toBeGreaterThan(0);
    expect(result.summary.write.ios).toBeGreaterThan(0);
  });
});
