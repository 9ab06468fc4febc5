/**
 * Every example workload runs for 2 s (per step) against the built-in target, from the compiled
 * CLI, and produces a result that matches the schemaVersion 2 contract.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, checkResult, runCli, WORKLOADS } from "./e2e.js";

const EXAMPLES = [
  "seq-read",
  "seq-write",
  "rand-read-4k",
  "rand-write-4k",
  "mixed-70-30",
  "latency-qd1",
  "qd-sweep",
  "verify",
  "rate-limited",
];

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-run-"));
beforeAll(() => buildDist(), 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("run: example workloads on the built-in target", () => {
  for (const name of EXAMPLES) {
    it(`${name}.json`, { timeout: 180_000 }, async () => {
      const out = join(dir, `${name}.json`);
      const r = await runCli(["run", join(WORKLOADS, `${name}.json`), "--duration", "2s", "--out", out], dir);
      expect(r.stderr).not.toContain("iscsi-bench: error");
      expect(r.code).toBe(0);
      // the result path is printed last
      expect(r.stdout.trim().split("\n").at(-1)).toBe(out);
      expect(r.stderr).toContain("total");
      const result = JSON.parse(readFileSync(out, "utf8"));
      checkResult(result, true);
      const w = result.workload;
      if (w.jobs.some((j: { verify: boolean }) => j.verify)) {
        expect(result.summary.verify.enabled).toBe(true);
        expect(result.summary.verify.blocksChecked).toBeGreaterThan(0);
        expect(result.summary.verify.mismatches).toBe(0);
      }
      if (w.jobs.some((j: { rate: unknown }) => j.rate !== null)) {
        const rated = result.jobs.filter((j: { rate: unknown }) => j.rate !== null);
        expect(rated.length).toBeGreaterThan(0);
        for (const j of rated) expect(typeof j.rate.keptUp).toBe("boolean");
      }
      const depths = w.jobs.flatMap((j: { queueDepths: number[] }) => j.queueDepths);
      if (depths.length > w.jobs.length) {
        // a sweep reports one entry per depth
        expect(result.jobs.map((j: { queueDepth: number }) => j.queueDepth)).toEqual(
          expect.arrayContaining([...new Set(depths)]),
        );
      }
    });
  }

  it("--json prints the result on stdout and the path on stderr", { timeout: 120_000 }, async () => {
    const out = join(dir, "json.json");
    const r = await runCli(
      ["run", join(WORKLOADS, "rand-read-4k.json"), "--duration", "1s", "--out", out, "--json", "--quiet"],
      dir,
    );
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed).toEqual(JSON.parse(readFileSync(out, "utf8")));
    expect(r.stderr.trim().split("\n").at(-1)).toBe(`result: ${out}`);
    // --quiet: no progress line
    expect(r.stderr).not.toMatch(/\[\d+s\/\d+s\]/);
  });

  it("writes results/<name>-<YYYYMMDD-HHMMSS>.json by default and prints progress off a terminal", {
    timeout: 120_000,
  }, async () => {
    const r = await runCli(["run", join(WORKLOADS, "seq-read.json"), "--duration", "6s"], dir);
    expect(r.code).toBe(0);
    const path = r.stdout.trim();
    expect(path).toMatch(/results\/seq-read-\d{8}-\d{6}\.json$/);
    expect(path.startsWith(dir)).toBe(true);
    checkResult(JSON.parse(readFileSync(path, "utf8")), true);
    // non-TTY: a plain line every 5 s, never the terminal's rewrite sequence
    expect(r.stderr).toMatch(/^\[\d+s\/\d+s\] \| read [\d.]+ MB\/s [\d.]+ IOPS \| write/m);
    expect(r.stderr).not.toContain("\r");
  });
});
