/**
 * libiscsi (Debian libiscsi-bin) against the built-in target: real peers, loopback only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningTarget, startTarget, startTargetInProcess } from "../../src/target/index.js";
import { requireBinaries, run } from "./libiscsi-peers.js";

const TOOLS = ["iscsi-ls", "iscsi-inq", "iscsi-readcapacity16", "iscsi-perf"];
requireBinaries(TOOLS);
const IQN = "iqn.2026-11.io.iscsi-bench:libiscsi-test";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:libiscsi-client";

describe("libiscsi tools against the built-in target", () => {
  let target: RunningTarget;
  let secured: RunningTarget;

  beforeAll(async () => {
    // served from a worker thread, as the engine does
    target = await startTarget({
      port: 0,
      iqn: IQN,
      luns: [
        { kind: "memory", sizeBytes: 64 * 1024 * 1024 },
        { kind: "memory", sizeBytes: 16 * 1024 * 1024 },
      ],
    });
    secured = await startTargetInProcess({
      port: 0,
      iqn: IQN,
      luns: [{ kind: "memory", sizeBytes: 8 * 1024 * 1024 }],
      chap: { user: "bench", secret: "correct-horse-42" },
      allow: [INITIATOR],
    });
  });

  afterAll(async () => {
    await target?.stop();
    await secured?.stop();
  });

  it("iscsi-ls -s lists the target, its portal and both LUNs", async () => {
    const r = await run("iscsi-ls", ["-s", `iscsi://127.0.0.1:${target.port}`], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Target:${IQN} Portal:127.0.0.1:${target.port},1`);
    expect(r.stdout).toMatch(/Lun:0\s+Type:DIRECT_ACCESS \(Size:63M\)/);
    expect(r.stdout).toMatch(/Lun:1\s+Type:DIRECT_ACCESS \(Size:15M\)/);
  });

  it("iscsi-inq reports the device", async () => {
    const r = await run("iscsi-inq", [target.url(0)], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Peripheral Device Type:DIRECT_ACCESS");
    expect(r.stdout).toContain("Vendor:ISCSIBEN");
    const serial = await run("iscsi-inq", ["-e", "1", "-c", "128", target.url(1)], 20_000);
    expect(serial.code, serial.stderr).toBe(0);
    expect(serial.stdout).toMatch(/Unit Serial Number:\S+/);
  });

  it("iscsi-readcapacity16 reports size and block length", async () => {
    const r = await run("iscsi-readcapacity16", [target.url(0)], 20_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("LOGICAL BLOCK LENGTH IN BYTES:512");
    expect(r.stdout).toContain(`RETURNED LOGICAL BLOCK ADDRESS:${64 * 2048 - 1}`);
    expect(r.stdout).toContain(`Total size:${64 * 1024 * 1024}`);
  });

  it("iscsi-perf runs a few seconds at queue depth 32 without errors", async () => {
    const r = await run("iscsi-perf", ["-t", "3", "-m", "32", "-b", "8", "-r", target.url(0)], 30_000);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toContain("finished");
    expect(out).toMatch(/iops average [1-9]\d*/);
    expect(out.toLowerCase()).not.toContain("error");
  });

  it("CHAP: the right secret logs in, a wrong one is refused", async () => {
    const base = `127.0.0.1:${secured.port}/${IQN}/0`;
    const ok = await run("iscsi-inq", ["-i", INITIATOR, `iscsi://bench%correct-horse-42@${base}`], 20_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Vendor:ISCSIBEN");
    const wrong = await run("iscsi-inq", ["-i", INITIATOR, `iscsi://bench%wrong-horse-42@${base}`], 20_000);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).not.toContain("Vendor:");
    expect(`${wrong.stdout}${wrong.stderr}`.toLowerCase()).toMatch(/auth|login/);
    const none = await run("iscsi-inq", ["-i", INITIATOR, `iscsi://${base}`], 20_000);
    expect(none.code).not.toBe(0);
  });

  it("the access list refuses an initiator that is not listed", async () => {
    const base = `iscsi://bench%correct-horse-42@127.0.0.1:${secured.port}/${IQN}/0`;
    const r = await run("iscsi-inq", ["-i", "iqn.2026-11.io.iscsi-bench:stranger", base], 20_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("Vendor:");
  });

  it("a wrong target name is refused", async () => {
    const r = await run(
      "iscsi-inq",
      [`iscsi://127.0.0.1:${target.port}/iqn.2026-11.io.iscsi-bench:nope/0`],
      20_000,
    );
    expect(r.code).not.toBe(0);
  });
});
