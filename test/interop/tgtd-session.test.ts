/**
 * Session-level interop with tgtd: SendTargets discovery, device info, CHAP (one-way, mutual,
 * wrong secret), a queue depth far above the target's command window, ping, TMF and logout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDeviceInfo } from "../../src/initiator/device.js";
import { discoverTargets } from "../../src/initiator/discovery.js";
import { LoginError } from "../../src/initiator/errors.js";
import { openSession, type Session, type SessionOptions } from "../../src/initiator/session.js";
import { newScsiTask, type ScsiTask } from "../../src/initiator/task.js";
import { buildReadAuto, buildWriteAuto } from "../../src/scsi/cdb.js";
import { fillPattern, readBlocks, taskOutcome } from "../helpers/scsi-io.js";
import { requireTgtd, startTgtd, type Tgtd } from "../helpers/tgtd.js";

requireTgtd();
const INITIATOR = "iqn.2026-11.io.iscsi-bench:test-session";
const T_OPEN = "iqn.2026-11.io.iscsi-bench:sess-open";
const T_TWO_LUNS = "iqn.2026-11.io.iscsi-bench:sess-two-luns";
const T_CHAP = "iqn.2026-11.io.iscsi-bench:sess-chap";
const T_MUTUAL = "iqn.2026-11.io.iscsi-bench:sess-mutual";
const CHAP = { user: "benchuser", secret: "s3cret-one-way-12" };
const MUTUAL_IN = { user: "benchuser2", secret: "s3cret-incoming-12" };
const MUTUAL_OUT = { user: "tgtuser", secret: "s3cret-outgoing-34" };

describe("tgtd interop: sessions", () => {
  let tgtd: Tgtd;
  beforeAll(async () => {
    tgtd = await startTgtd([
      { iqn: T_OPEN, luns: [{ sizeBytes: 16 << 20 }] },
      { iqn: T_TWO_LUNS, luns: [{ sizeBytes: 8 << 20 }, { sizeBytes: 4 << 20 }] },
      { iqn: T_CHAP, luns: [{ sizeBytes: 4 << 20 }], chap: CHAP },
      { iqn: T_MUTUAL, luns: [{ sizeBytes: 4 << 20 }], chap: MUTUAL_IN, mutualChap: MUTUAL_OUT },
    ]);
  });
  afterAll(async () => {
    await tgtd?.stop();
  });

  const open = (targetName: string, extra: Partial<SessionOptions> = {}): Promise<Session> =>
    openSession({
      host: tgtd.host,
      port: tgtd.port,
      targetName,
      initiatorName: INITIATOR,
      timeoutMs: 10000,
      nopIntervalMs: 0,
      ...extra,
    });

  it("discovers every target with the portal it listens on", async () => {
    const targets = await discoverTargets({
      host: tgtd.host,
      port: tgtd.port,
      initiatorName: INITIATOR,
      timeoutMs: 10000,
    });
    const names = targets.map((t) => t.name).sort();
    expect(names).toEqual([T_CHAP, T_MUTUAL, T_OPEN, T_TWO_LUNS].sort());
    for (const t of targets) expect(t.portals).toEqual([{ host: "127.0.0.1", port: tgtd.port, tpgt: 1 }]);
  });

  it("discovers with header and data digests on", async () => {
    const targets = await discoverTargets({
      host: tgtd.host,
      port: tgtd.port,
      initiatorName: INITIATOR,
      timeoutMs: 10000,
      headerDigest: true,
      dataDigest: true,
    });
    expect(targets.length).toBe(4);
  });

  it("reads device info of each LUN", async () => {
    const session = await open(T_TWO_LUNS);
    try {
      const a = await readDeviceInfo(session, 1);
      const b = await readDeviceInfo(session, 2);
      expect(a).toMatchObject({
        vendor: "IET",
        product: "VIRTUAL-DISK",
        blockSize: 512,
        blocks: 16384,
        capacityBytes: 8 << 20,
      });
      expect(b).toMatchObject({ blockSize: 512, blocks: 8192, capacityBytes: 4 << 20 });
      expect(a.serial).not.toBe(b.serial);
      expect(a.designators.length).toBeGreaterThan(0);
      await expect(readDeviceInfo(session, 7)).rejects.toThrow(/LUN 7 does not exist/);
      await session.logout();
    } finally {
      session.close();
    }
  });

  it("logs in with one-way CHAP", async () => {
    const session = await open(T_CHAP, { chap: CHAP });
    expect(session.tsih).toBeGreaterThan(0);
    const info = await readDeviceInfo(session, 1);
    expect(info.capacityBytes).toBe(4 << 20);
    await session.logout();
  });

  it("refuses a wrong CHAP secret with the authentication message", async () => {
    const err = await open(T_CHAP, { chap: { user: CHAP.user, secret: "wrong-secret-123" } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).message).toBe("authentication failed");
    expect((err as LoginError).statusClass).toBe(2);
    expect((err as LoginError).statusDetail).toBe(1);
    expect(String(err)).not.toContain("wrong-secret");
  });

  it("refuses a login without CHAP to a target that requires it", async () => {
    const err = await open(T_CHAP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).message).toMatch(/authentication failed|not authorized/);
  });

  it("logs in with mutual CHAP and checks the target's answer", async () => {
    const session = await open(T_MUTUAL, {
      chap: { ...MUTUAL_IN, targetUser: MUTUAL_OUT.user, targetSecret: MUTUAL_OUT.secret },
    });
    const info = await readDeviceInfo(session, 1);
    expect(info.blockSize).toBe(512);
    await session.logout();
  });

  it("refuses a target whose mutual CHAP answer is wrong", async () => {
    const err = await open(T_MUTUAL, {
      chap: { ...MUTUAL_IN, targetUser: MUTUAL_OUT.user, targetSecret: "not-the-target-secret" },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toMatch(/^authentication failed: the target's CHAP response is wrong/);
  });

  it("names an unknown target", async () => {
    const err = await open("iqn.2026-11.io.iscsi-bench:nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toBe("target not found");
  });

  it("completes 256 outstanding commands, far above the target's CmdSN window", async () => {
    const session = await open(T_OPEN);
    try {
      const DEPTH = 256;
      const SIZE = 8192;
      const bs = 512;
      let maxQueued = 0;
      const run = (write: boolean) =>
        new Promise<ScsiTask[]>((resolve) => {
          const tasks: ScsiTask[] = [];
          let remaining = DEPTH;
          const done = () => {
            if (--remaining === 0) resolve(tasks);
          };
          for (let i = 0; i < DEPTH; i++) {
            const t = newScsiTask(done);
            const lba = i * (SIZE / bs);
            if (write) {
              const data = Buffer.alloc(SIZE);
              fillPattern(data, lba, bs, 77);
              t.dataOut = data;
              t.dataOutLength = SIZE;
              t.cdbLength = buildWriteAuto(t.cdb, lba, SIZE / bs);
            } else {
              t.dataIn = Buffer.alloc(SIZE);
              t.dataInLength = SIZE;
              t.cdbLength = buildReadAuto(t.cdb, lba, SIZE / bs);
            }
            t.lun = 1;
            t.tag = lba;
            tasks.push(t);
            session.submit(t);
            maxQueued = Math.max(maxQueued, session.queued);
          }
        });
      const writes = await run(true);
      for (const t of writes) expect(taskOutcome(t)).toBe("status 0 residual 0");
      expect(maxQueued).toBeGreaterThan(0); // the CmdSN window really closed
      const reads = await run(false);
      for (const t of reads) {
        expect(taskOutcome(t)).toBe("status 0 residual 0");
        const expected = Buffer.alloc(SIZE);
        fillPattern(expected, t.tag, bs, 77);
        expect(t.dataIn!.equals(expected)).toBe(true);
      }
      expect(session.inFlight).toBe(0);
      expect(session.queued).toBe(0);
      await session.logout();
    } finally {
      session.close();
    }
  });

  it("pings, resets a LUN, aborts an unknown task and logs out; later submits fail cleanly", async () => {
    const session = await open(T_OPEN);
    let closedWith: Error | null | undefined;
    session.onClose = (err) => {
      closedWith = err;
    };
    // The first command after login meets the "power on or reset" UNIT ATTENTION: retried transparently.
    const first = await readBlocks(session, 1, 0, 4096, 512);
    expect(taskOutcome(first)).toBe("status 0 residual 0");
    const us = await session.ping();
    expect(us).toBeGreaterThan(0);
    expect(await session.lunReset(1)).toBe(0);
    // The reset's UNIT ATTENTION is retried once too.
    const r = await readBlocks(session, 1, 0, 4096, 512);
    expect(taskOutcome(r)).toBe("status 0 residual 0");
    expect(await session.abortTask(newScsiTask(() => {}))).toBe(1);
    await session.logout();
    await new Promise((res) => setImmediate(res));
    expect(closedWith).toBeNull();
    const after = await readBlocks(session, 1, 0, 512, 512);
    expect(after.error?.message).toMatch(/closed/);
  });
});
