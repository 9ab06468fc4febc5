/**
 * libiscsi's compliance suite (iscsi-test-cu) against the built-in target via
 * scripts/compliance.mjs (which runs the target from dist/: the test command builds first).
 * Floor on passes, ceiling of zero failures.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { requireBinaries } from "./libiscsi-peers.js";

requireBinaries(["iscsi-test-cu"]);
const PASS_FLOOR = 182;

interface Summary {
  total: { passed: number; failed: number; skipped: number };
  seconds: number;
  suites: Record<string, { passed: number; failed: number; skipped: number }>;
  failed: Array<{ suite: string; test: string }>;
}

describe("iscsi-test-cu compliance", () => {
  it(`passes at least ${PASS_FLOOR} of 230 tests and fails none`, { timeout: 600_000 }, async () => {
    expect(existsSync("dist/target/index.js"), "dist/ is missing: run npm run build first").toBe(true);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["scripts/compliance.mjs", "--json"],
        { timeout: 540_000, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          // exit 1 means failures: the summary still tells which
          if (stdout.trim().startsWith("{")) resolve(stdout);
          else reject(new Error(`compliance.mjs: ${err?.message ?? ""} ${stderr}`));
        },
      );
    });
    const summary = JSON.parse(out) as Summary;
    const { passed, failed, skipped } = summary.total;
    expect(passed + failed + skipped).toBe(230);
    expect(summary.failed, JSON.stringify(summary.failed)).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBeGreaterThanOrEqual(PASS_FLOOR);
    // the protocol-level suites must pass completely
    for (const s of ["iSCSIcmdsn", "iSCSIdatasn", "iSCSIResiduals", "iSCSITMF"]) {
      expect(summary.suites[s]?.passed, s).toBeGreaterThan(0);
      expect(summary.suites[s]?.skipped, s).toBe(0);
    }
  });
});
