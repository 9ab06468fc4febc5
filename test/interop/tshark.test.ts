/**
 * A tshark capture of discovery, info and I/O (with header and data digests on) against tgtd
 * must show iSCSI PDUs and no malformed packet or error-level expert item.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDeviceInfo } from "../../src/initiator/device.js";
import { discoverTargets } from "../../src/initiator/discovery.js";
import { openSession } from "../../src/initiator/session.js";
import { requirePeers } from "../helpers/peers.js";
import { fillPattern, readBlocks, taskOutcome, writeBlocks } from "../helpers/scsi-io.js";
import { requireTgtd, startTgtd, type Tgtd } from "../helpers/tgtd.js";

requireTgtd();
requirePeers(["tshark"], "tshark");
const INITIATOR = "iqn.2026-11.io.iscsi-bench:test-tshark";
const TARGET = "iqn.2026-11.io.iscsi-bench:tshark";

function tshark(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile("tshark", args, { timeout: 60000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`tshark ${args.join(" ")}: ${stderr || err.message}`));
      else res(stdout);
    });
  });
}

describe("tshark capture of an initiator run", () => {
  let tgtd: Tgtd;
  let dir: string;
  let capture: ChildProcess | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "iscsi-bench-pcap-"));
    tgtd = await startTgtd([
      {
        iqn: TARGET,
        luns: [{ sizeBytes: 8 << 20 }],
        params: { HeaderDigest: "CRC32C", DataDigest: "CRC32C", InitialR2T: "No" },
      },
    ]);
  });
  afterAll(async () => {
    capture?.kill("SIGKILL");
    await tgtd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows iSCSI PDUs and nothing malformed", async () => {
    const file = join(dir, "run.pcap");
    const child = spawn("tshark", ["-i", "lo", "-f", `tcp port ${tgtd.port}`, "-w", file], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    capture = child;
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    // tshark says "Capturing on 'Loopback: lo'" once it is capturing.
    await new Promise<void>((res, rej) => {
      let err = "";
      const timer = setTimeout(() => rej(new Error(`tshark did not start capturing: ${err}`)), 20000);
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes("Capturing on")) {
          clearTimeout(timer);
          setTimeout(res, 500); // the message comes slightly before packets are really captured
        }
      });
      child.once("exit", () => rej(new Error(`tshark exited: ${err}`)));
    });

    const targets = await discoverTargets({
      host: tgtd.host,
      port: tgtd.port,
      initiatorName: INITIATOR,
      headerDigest: true,
      dataDigest: true,
    });
    expect(targets.map((t) => t.name)).toEqual([TARGET]);
    const session = await openSession({
      host: tgtd.host,
      port: tgtd.port,
      targetName: TARGET,
      initiatorName: INITIATOR,
      headerDigest: true,
      dataDigest: true,
      nopIntervalMs: 0,
    });
    expect(session.negotiated.headerDigest && session.negotiated.dataDigest).toBe(true);
    const info = await readDeviceInfo(session, 1);
    expect(info.blockSize).toBe(512);
    for (const [lba, size] of [
      [0, 4096],
      [100, 65536 + 512],
      [1000, 300 * 1024],
    ] as const) {
      const data = Buffer.alloc(size);
      fillPattern(data, lba, 512, 5);
      expect(taskOutcome(await writeBlocks(session, 1, lba, data, 512))).toBe("status 0 residual 0");
      const r = await readBlocks(session, 1, lba, size, 512);
      expect(r.dataIn!.equals(data)).toBe(true);
    }
    await session.ping();
    await session.logout();
    // Discovery again at the end: the capture may have missed the first packets of the run.
    const again = await discoverTargets({
      host: tgtd.host,
      port: tgtd.port,
      initiatorName: INITIATOR,
      headerDigest: true,
      dataDigest: true,
    });
    expect(again.length).toBe(1);

    await new Promise((res) => setTimeout(res, 500)); // let the last packets reach the capture
    child.kill("SIGINT");
    await exited;
    capture = null;

    const decode = ["-r", file, "-d", `tcp.port==${tgtd.port},iscsi`];
    const bad = await tshark([...decode, "-Y", "_ws.malformed || _ws.expert.severity == error"]);
    expect(bad).toBe("");
    const pdus = await tshark([...decode, "-Y", "iscsi", "-T", "fields", "-e", "iscsi.opcode"]);
    const opcodes = pdus.split("\n").filter((l) => l.trim() !== "");
    expect(opcodes.length).toBeGreaterThan(20);
    const all = opcodes.join(",").split(",");
    // Login, SCSI Command, Data-In, SCSI Response, NOP-Out, Logout, Text request/response were seen.
    for (const op of ["0x03", "0x01", "0x25", "0x21", "0x00", "0x06", "0x04", "0x24"])
      expect(all).toContain(op);
  });
});
