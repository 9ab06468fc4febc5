/**
 * Running Debian libiscsi-bin tools (iscsi-ls, iscsi-inq, iscsi-perf, iscsi-test-cu) against the
 * built-in target. In CI a missing binary is an error (the test fails); elsewhere the caller may
 * skip with a clear reason.
 */
import { execFile, spawnSync } from "node:child_process";

export function haveBinary(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

/** True when every binary is there; throws in CI when one is missing. */
export function requireBinaries(bins: string[]): boolean {
  const missing = bins.filter((b) => !haveBinary(b));
  if (missing.length === 0) return true;
  if (process.env.CI === "true") {
    throw new Error(`libiscsi tools missing in CI: ${missing.join(", ")} (apt-get install libiscsi-bin)`);
  }
  return false;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool with a kill timer; never rejects. */
export function run(bin: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
