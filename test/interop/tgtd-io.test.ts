/**
 * READ/WRITE against a real tgtd: patterns written then read back at many LBAs and sizes that
 * cross FirstBurstLength (64 KiB at tgtd) and MaxBurstLength (256 KiB), so writes need immediate
 * data, unsolicited Data-Out and R2T sequences, and reads come back as many Data-In PDUs; with
 * ImmediateData and InitialR2T both ways, and with header and data digests on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSession, type Session, type SessionOptions } from "../../src/initiator/session.js";
import { fillPattern, readBlocks, taskOutcome, writeBlocks } from "../helpers/scsi-io.js";
import { requireTgtd, startTgtd, type Tgtd } from "../helpers/tgtd.js";

requireTgtd();
const INITIATOR = "iqn.2026-11.io.iscsi-bench:test-io";
const BS = 512;
const SIZES = [
  512,
  4096,
  8192 + 512,
  65536 - 512,
  65536,
  65536 + 512,
  131072 + 4096,
  262144,
  262144 + 512,
  1048576,
  1048576 + 3 * 512,
];

const T_DEFAULT = "iqn.2026-11.io.iscsi-bench:io-default"; // tgtd defaults: InitialR2T=Yes
const T_NO_R2T = "iqn.2026-11.io.iscsi-bench:io-initialr2t-no"; // target allows InitialR2T=No
const T_SMALL = "iqn.2026-11.io.iscsi-bench:io-small-pdus"; // small PDUs and bursts
const T_DIGEST = "iqn.2026-11.io.iscsi-bench:io-digests"; // target accepts CRC32C digests

describe("tgtd interop: write, read back, compare", () => {
  let tgtd: Tgtd;
  beforeAll(async () => {
    tgtd = await startTgtd([
      { iqn: T_DEFAULT, luns: [{ sizeBytes: 32 << 20 }] },
      { iqn: T_NO_R2T, luns: [{ sizeBytes: 32 << 20 }], params: { InitialR2T: "No" } },
      {
        iqn: T_SMALL,
        luns: [{ sizeBytes: 32 << 20 }],
        params: {
          InitialR2T: "No",
          MaxRecvDataSegmentLength: "4096",
          MaxBurstLength: "65536",
          FirstBurstLength: "16384",
        },
      },
      {
        iqn: T_DIGEST,
        luns: [{ sizeBytes: 32 << 20 }],
        params: { InitialR2T: "No", HeaderDigest: "CRC32C", DataDigest: "CRC32C" },
      },
    ]);
  });
  afterAll(async () => {
    await tgtd?.stop();
  });

  async function open(targetName: string, extra: Partial<SessionOptions> = {}): Promise<Session> {
    return openSession({
      host: tgtd.host,
      port: tgtd.port,
      targetName,
      initiatorName: INITIATOR,
      timeoutMs: 10000,
      nopIntervalMs: 0,
      ...extra,
    });
  }

  /** Writes every size at a few LBAs (including the last blocks of the LUN), reads back, compares. */
  async function roundTrips(session: Session, seed: number): Promise<void> {
    const lunBlocks = (32 << 20) / BS;
    let lba = 0;
    for (const size of SIZES) {
      const blocks = size / BS;
      for (const start of [lba, lunBlocks - blocks - ((seed * 7) % 64)]) {
        const data = Buffer.alloc(size);
        fillPattern(data, start, BS, seed + size);
        const w = await writeBlocks(session, 1, start, data, BS);
        expect(taskOutcome(w), `write ${size} B at LBA ${start}`).toBe("status 0 residual 0");
        const r = await readBlocks(session, 1, start, size, BS);
        expect(taskOutcome(r), `read ${size} B at LBA ${start}`).toBe("status 0 residual 0");
        expect(r.dataInTransferred).toBe(size);
        expect(r.dataIn!.equals(data), `data at LBA ${start} size ${size}`).toBe(true);
      }
      lba += blocks + 17;
    }
  }

  const variants: Array<{
    name: string;
    target: string;
    opts: Partial<SessionOptions>;
    expect: Record<string, unknown>;
  }> = [
    {
      name: "ImmediateData=Yes, InitialR2T=No (unsolicited Data-Out and R2T)",
      target: T_NO_R2T,
      opts: {},
      expect: { immediateData: true, initialR2T: false, firstBurstLength: 65536, maxBurstLength: 262144 },
    },
    {
      name: "ImmediateData=No, InitialR2T=Yes (every byte solicited)",
      target: T_DEFAULT,
      opts: { params: { immediateData: false, initialR2T: true } },
      expect: { immediateData: false, initialR2T: true },
    },
    {
      name: "ImmediateData=Yes, InitialR2T=Yes (immediate data then R2T)",
      target: T_DEFAULT,
      opts: { params: { immediateData: true, initialR2T: true } },
      expect: { immediateData: true, initialR2T: true },
    },
    {
      name: "ImmediateData=No, InitialR2T=No (unsolicited Data-Out from offset 0)",
      target: T_NO_R2T,
      opts: { params: { immediateData: false, initialR2T: false } },
      expect: { immediateData: false, initialR2T: false },
    },
    {
      name: "small target PDUs and bursts (4 KiB segments, 16 KiB first burst, 64 KiB bursts)",
      target: T_SMALL,
      opts: { params: { maxRecvDataSegmentLength: 8192 } },
      expect: {
        peerMaxRecvDataSegmentLength: 4096,
        firstBurstLength: 16384,
        maxBurstLength: 65536,
        maxRecvDataSegmentLength: 8192,
      },
    },
    {
      name: "HeaderDigest and DataDigest CRC32C",
      target: T_DIGEST,
      opts: { headerDigest: true, dataDigest: true },
      expect: { headerDigest: true, dataDigest: true, initialR2T: false },
    },
  ];

  variants.forEach((v, i) => {
    it(v.name, async () => {
      const session = await open(v.target, v.opts);
      try {
        expect(session.negotiated).toMatchObject(v.expect);
        await roundTrips(session, 1000 * (i + 1));
        expect(session.inFlight).toBe(0);
        await session.logout();
      } finally {
        session.close();
      }
    });
  });

  it("reports an underflow residual when the target returns less than asked", async () => {
    const session = await open(T_DEFAULT);
    try {
      // INQUIRY with an allocation length of 255 but a buffer of 255: tgtd returns fewer bytes.
      const r = await session.execute(1, Buffer.from([0x12, 0, 0, 0, 255, 0]), { dataInLength: 255 });
      expect(r.status).toBe(0);
      expect(r.data.length).toBeGreaterThanOrEqual(36);
      expect(r.residual).toBe(255 - r.data.length);
      await session.logout();
    } finally {
      session.close();
    }
  });

  it("reads beyond the end of the LUN fail with CHECK CONDITION and decoded sense", async () => {
    const session = await open(T_DEFAULT);
    try {
      const r = await readBlocks(session, 1, (32 << 20) / BS - 1, 2 * BS, BS);
      expect(r.error).toBeNull();
      expect(r.status).toBe(2);
      const res = await session.execute(1, Buffer.from([0x28, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0, 1, 0]), {
        dataInLength: BS,
      });
      expect(res.status).toBe(2);
      expect(res.sense?.text).toBe("ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE");
      await session.logout();
    } finally {
      session.close();
    }
  });
});
