/**
 * Running Debian libiscsi-bin tools (iscsi-ls, iscsi-inq, iscsi-perf, iscsi-test-cu) against the
 * built-in target. A missing binary fails the test file.
 */
import { execFile } from "node:child_process";
import { requirePeers } from "../helpers/peers.js";

/** Fails the calling test file unless every libiscsi tool is installed (see helpers/peers.ts). */
export function requireBinaries(bins: string[]): void {
  requirePeers(bins, "libiscsi-bin");
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
