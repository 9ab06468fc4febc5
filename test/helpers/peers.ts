/**
 * The real iSCSI peers the tests run against (Debian packages tgt, libiscsi-bin, tshark). A test
 * that needs one fails when it is missing — locally as in CI — with the command that installs it:
 * a skipped interop test would hide exactly the failures these tests exist to catch.
 */
import { spawnSync } from "node:child_process";

export function haveBinary(bin: string): boolean {
  const r = spawnSync("sh", ["-c", `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: "ignore" });
  return r.status === 0;
}

/** Throws (failing the test file) unless every binary is installed. */
export function requirePeers(bins: string[], debianPackage: string): void {
  const missing = bins.filter((b) => !haveBinary(b));
  if (missing.length > 0) {
    throw new Error(
      `missing test peer ${missing.join(", ")} (Debian package ${debianPackage}): run scripts/install-peers.sh`,
    );
  }
}
