/**
 * Our initiator against the built-in target: data flow exactly as negotiated (R2T sequences within
 * MaxBurstLength, unsolicited and immediate data, multi-PDU Data-In, digests), the CmdSN window,
 * discovery, CHAP one-way and mutual, the access list, TMF and session reinstatement.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverTargets } from "../../src/initiator/discovery.js";
import { LoginError } from "../../src/initiator/errors.js";
import { openSession, type Session, type SessionOptions } from "../../src/initiator/session.js";
import { newScsiTask, type ScsiTask } from "../../src/initiator/task.js";
import { buildWriteAuto } from "../../src/scsi/cdb.js";
import { type RunningTarget, startTargetInProcess } from "../../src/target/index.js";
import { fillPattern, readBlocks, taskOutcome, writeBlocks } from "../helpers/scsi-io.js";

const IQN = "iqn.2026-11.io.iscsi-bench:session-test";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:session-client";
const BS = 512;

describe("our initiator against the built-in target", () => {
  let target: RunningTarget;
  let secured: RunningTarget;

  beforeAll(async () => {
    target = await startTargetInProcess({
      port: 0,
      iqn: IQN,
      luns: [
        { kind: "memory", sizeBytes: 64 * 1024 * 1024 },
        { kind: "memory", sizeBytes: 8 * 1024 * 1024, readOnly: true },
      ],
      commandWindow: 8,
    });
    secured = await startTargetInProcess({
      port: 0,
      iqn: IQN,
      luns: [{ kind: "memory", sizeBytes: 4 * 1024 * 1024 }],
      chap: { user: "bench", secret: "initiator-secret-1" },
      mutualChap: { user: "target", secret: "target-secret-22" },
      allow: [INITIATOR],
    });
  });

  afterAll(async () => {
    await target?.stop();
    await secured?.stop();
  });

  function open(extra: Partial<SessionOptions> = {}, t = target): Promise<Session> {
    return openSession({
      host: "127.0.0.1",
      port: t.port,
      targetName: IQN,
      initiatorName: INITIATOR,
      nopIntervalMs: 0,
      timeoutMs: 10_000,
      ...extra,
    });
  }

  async function roundTrip(s: Session, lba: number, blocks: number, seed: number): Promise<void> {
    const data = Buffer.alloc(blocks * BS);
    fillPattern(data, lba, BS, seed);
    const w = await writeBlocks(s, 0, lba, data, BS);
    expect(w.status, taskOutcome(w)).toBe(0);
    const r = await readBlocks(s, 0, lba, data.length, BS);
    expect(r.status, taskOutcome(r)).toBe(0);
    expect(r.dataIn!.equals(data), `LBA ${lba} x ${blocks}`).toBe(true);
  }

  const flows: Array<[string, Partial<SessionOptions>]> = [
    ["defaults (immediate + unsolicited data)", {}],
    [
      "InitialR2T=Yes, ImmediateData=No, small bursts and segments",
      {
        params: {
          initialR2T: true,
          immediateData: false,
          maxBurstLength: 16384,
          firstBurstLength: 8192,
          maxRecvDataSegmentLength: 4096,
          maxOutstandingR2T: 1,
        },
      },
    ],
    [
      "InitialR2T=No, ImmediateData=Yes, several outstanding R2Ts",
      {
        params: {
          initialR2T: false,
          immediateData: true,
          maxBurstLength: 8192,
          firstBurstLength: 4096,
          maxRecvDataSegmentLength: 1024,
          maxOutstandingR2T: 4,
        },
      },
    ],
    [
      "header and data digests",
      { headerDigest: true, dataDigest: true, params: { maxRecvDataSegmentLength: 8192 } },
    ],
  ];

  for (const [name, opts] of flows) {
    it(`writes and reads back across bursts: ${name}`, async () => {
      const s = await open(opts);
      try {
        if (opts.headerDigest) {
          expect(s.negotiated.headerDigest).toBe(true);
          expect(s.negotiated.dataDigest).toBe(true);
        }
        let seed = 1;
        for (const blocks of [1, 7, 8, 9, 16, 17, 64, 129, 300, 2048]) {
          await roundTrip(s, 1000 + blocks * 3, blocks, seed++);
        }
      } finally {
        await s.logout();
      }
    });
  }

  it("keeps a queue deeper than the command window correct (window 8, 64 in flight)", async () => {
    const s = await open();
    try {
      const tasks: Promise<ScsiTask>[] = [];
      const bufs: Buffer[] = [];
      for (let i = 0; i < 64; i++) {
        const data = Buffer.alloc(8 * BS);
        fillPattern(data, i * 8, BS, 99);
        bufs.push(data);
        const t = newScsiTask(() => {});
        t.cdbLength = buildWriteAuto(t.cdb, i * 8, 8);
        t.dataOut = data;
        t.dataOutLength = data.length;
        tasks.push(
          new Promise((resolve) => {
            t.done = resolve;
            s.submit(t);
          }),
        );
      }
      for (const t of await Promise.all(tasks)) expect(t.status, taskOutcome(t)).toBe(0);
      const r = await readBlocks(s, 0, 0, 64 * 8 * BS, BS);
      expect(r.dataIn!.equals(Buffer.concat(bufs))).toBe(true);
    } finally {
      await s.logout();
    }
  });

  it("answers the SCSI errors with sense, never by dropping the connection", async () => {
    const s = await open();
    try {
      const beyond = await readBlocks(s, 0, 64 * 2048, BS, BS);
      expect(beyond.status).toBe(2);
      const ro = await writeBlocks(s, 1, 0, Buffer.alloc(BS), BS);
      expect(ro.status).toBe(2);
      const noLun = await s.execute(5, Buffer.from([0x00, 0, 0, 0, 0, 0])); // TEST UNIT READY, LUN 5
      expect(noLun.status).toBe(2);
      expect(noLun.sense?.asc).toBe(0x25); // LOGICAL UNIT NOT SUPPORTED
      expect(await s.ping()).toBeGreaterThan(0);
      expect(await s.lunReset(0)).toBe(0);
      await roundTrip(s, 10, 4, 5);
    } finally {
      await s.logout();
    }
  });

  it("discovery lists the target with its portal", async () => {
    const found = await discoverTargets({ host: "127.0.0.1", port: target.port, initiatorName: INITIATOR });
    expect(found).toEqual([{ name: IQN, portals: [{ host: "127.0.0.1", port: target.port, tpgt: 1 }] }]);
  });

  it("mutual CHAP logs in; a wrong secret, a wrong target secret and an unlisted initiator are refused", async () => {
    const s = await open(
      {
        chap: {
          user: "bench",
          secret: "initiator-secret-1",
          targetUser: "target",
          targetSecret: "target-secret-22",
        },
      },
      secured,
    );
    await roundTrip(s, 0, 2, 3);
    await s.logout();

    const oneWay = await open({ chap: { user: "bench", secret: "initiator-secret-1" } }, secured);
    await oneWay.logout();

    const refusals: Array<[Partial<SessionOptions>, number]> = [
      [{ chap: { user: "bench", secret: "wrong-secret-000" } }, 0x01],
      [
        {
          chap: {
            user: "bench",
            secret: "initiator-secret-1",
            targetUser: "target",
            targetSecret: "nope-nope-nope",
          },
        },
        -1,
      ],
      [
        {
          initiatorName: "iqn.2026-11.io.iscsi-bench:stranger",
          chap: { user: "bench", secret: "initiator-secret-1" },
        },
        0x02,
      ],
      [{ targetName: "iqn.2026-11.io.iscsi-bench:missing" }, 0x03],
    ];
    for (const [opts, detail] of refusals) {
      const err = await open(opts, secured).then(
        (x) => {
          x.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(opts.targetName ?? opts.initiatorName ?? "chap")).toBeInstanceOf(Error);
      if (detail >= 0) {
        expect(err).toBeInstanceOf(LoginError);
        expect((err as LoginError).statusClass).toBe(2);
        expect((err as LoginError).statusDetail).toBe(detail);
      }
    }
  });

  it("reinstates a session when the same initiator and ISID log in again", async () => {
    // recovery off for the first session: it must not log in again and reinstate itself back
    const first = await open({ isid: 0x80123456789a, recoveryTimeoutMs: 0 });
    let firstClosed: Error | null | undefined;
    first.onClose = (e) => {
      firstClosed = e;
    };
    const second = await open({ isid: 0x80123456789a });
    try {
      await roundTrip(second, 50, 3, 9);
      await new Promise((r) => setTimeout(r, 100));
      expect(firstClosed).toBeInstanceOf(Error); // the old connection was closed by the target
      expect(second.tsih).not.toBe(first.tsih);
    } finally {
      await second.logout();
    }
  });
});
