/**
 * Fuzz: thousands of randomly mutated and truncated PDUs (seeded PRNG, so a failure replays) from
 * several concurrent connections, some after a valid login, some straight into the login phase.
 * Afterwards a normal client must still log in and read/write correctly, and the target's memory
 * must not have grown without bound.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSession } from "../../src/initiator/session.js";
import { encodePdu } from "../../src/iscsi/encode.js";
import { encodeLun } from "../../src/iscsi/lun.js";
import { type InitiatorPdu, Opcode, RESERVED_TAG } from "../../src/iscsi/pdu.js";
import { buildText } from "../../src/iscsi/text.js";
import { buildRead10, buildWrite10 } from "../../src/scsi/cdb.js";
import { type RunningTarget, startTargetInProcess } from "../../src/target/index.js";
import { fillPattern, readBlocks, taskOutcome, writeBlocks } from "../helpers/scsi-io.js";

const IQN = "iqn.2026-11.io.iscsi-bench:fuzz";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:fuzzer";
const TOTAL_PDUS = 8000;
const CONCURRENT = 4;
const PER_CONNECTION = 200;
const NO_DIGESTS = { headerDigest: false, dataDigest: false };

/** mulberry32: small, seeded, good enough to drive mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loginPdu(isid: number): InitiatorPdu {
  return {
    opcode: Opcode.LoginRequest,
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionMin: 0,
    isid,
    tsih: 0,
    itt: 1,
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    data: buildText([
      ["InitiatorName", INITIATOR],
      ["TargetName", IQN],
      ["SessionType", "Normal"],
      ["InitialR2T", "No"],
      ["ImmediateData", "Yes"],
      ["MaxRecvDataSegmentLength", "8192"],
      ["FirstBurstLength", "16384"],
      ["MaxBurstLength", "65536"],
    ]),
  };
}

/** A valid-looking full feature phase PDU of a random kind. */
function templatePdu(rand: () => number, sn: number): InitiatorPdu {
  const itt = Math.floor(rand() * 64);
  // Logout ends the session: rare, so that connections live on
  const k = rand() < 0.01 ? 6 : Math.floor(rand() * 6);
  const cdb = Buffer.alloc(16);
  const lun = encodeLun(Math.floor(rand() * 3));
  switch (k) {
    case 0:
    case 1: {
      const write = k === 1;
      const blocks = 1 + Math.floor(rand() * 64);
      const lba = Math.floor(rand() * 32768);
      if (write) buildWrite10(cdb, lba, blocks);
      else buildRead10(cdb, lba, blocks);
      const imm = write ? Math.min(blocks * 512, Math.floor(rand() * 8192)) : 0;
      return {
        opcode: Opcode.ScsiCommand,
        immediate: false,
        final: rand() < 0.5,
        read: !write,
        write,
        attr: 1,
        lun,
        itt,
        expectedDataTransferLength: blocks * 512,
        cmdSN: sn,
        expStatSN: 0,
        cdb,
        data: Buffer.alloc(imm, 0x5a),
      };
    }
    case 2:
      return {
        opcode: Opcode.DataOut,
        final: rand() < 0.5,
        lun,
        itt,
        ttt: rand() < 0.5 ? RESERVED_TAG : Math.floor(rand() * 64),
        expStatSN: 0,
        dataSN: Math.floor(rand() * 4),
        bufferOffset: Math.floor(rand() * 8) * 512,
        data: Buffer.alloc(512 * (1 + Math.floor(rand() * 8)), 0xa5),
      };
    case 3:
      return {
        opcode: Opcode.NopOut,
        immediate: rand() < 0.5,
        lun: 0n,
        itt: rand() < 0.2 ? RESERVED_TAG : itt,
        ttt: RESERVED_TAG,
        cmdSN: sn,
        expStatSN: 0,
        data: Buffer.alloc(Math.floor(rand() * 64), 0x11),
      };
    case 4:
      return {
        opcode: Opcode.TextRequest,
        immediate: false,
        final: true,
        cont: rand() < 0.2,
        lun: 0n,
        itt,
        ttt: RESERVED_TAG,
        cmdSN: sn,
        expStatSN: 0,
        data: buildText([["SendTargets", rand() < 0.5 ? "All" : IQN]]),
      };
    case 5:
      return {
        opcode: Opcode.TaskMgmtRequest,
        immediate: true,
        function: 1 + Math.floor(rand() * 8),
        lun,
        itt,
        referencedTaskTag: Math.floor(rand() * 64),
        cmdSN: sn,
        expStatSN: 0,
        refCmdSN: sn - 1,
        expDataSN: 0,
      };
    default:
      return {
        opcode: Opcode.LogoutRequest,
        immediate: false,
        reasonCode: Math.floor(rand() * 4),
        itt,
        cid: 0,
        cmdSN: sn,
        expStatSN: 0,
      };
  }
}

/**
 * Mutates the encoded bytes. Field flips keep the stream framed (the target must Reject or answer);
 * length changes, truncation and junk desynchronize it (the target must close that connection
 * without buffering more than it negotiated), so they are rarer or a connection dies at once.
 */
function mutate(bytes: Buffer, rand: () => number): Buffer {
  const r = rand();
  if (r < 0.8) return bytes;
  const out = Buffer.from(bytes);
  if (r < 0.94) {
    const flips = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < flips; i++) {
      let at = Math.floor(rand() * 44);
      if (at >= 4) at += 4; // not TotalAHSLength/DataSegmentLength (bytes 4..7)
      out[at] = Math.floor(rand() * 256);
    }
    return out;
  }
  if (r < 0.97) {
    // DataSegmentLength (bytes 5..7) or TotalAHSLength (byte 4) set to anything
    if (rand() < 0.7) out.writeUIntBE(Math.floor(rand() * 0x1000000), 5, 3);
    else out[4] = Math.floor(rand() * 256);
    return out;
  }
  if (r < 0.985) return out.subarray(0, Math.floor(rand() * out.length));
  const junk = Buffer.alloc(1 + Math.floor(rand() * 200));
  for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
  return junk;
}

/** One fuzzing connection; resolves when its PDUs are sent and the socket is closed. */
const answered = { bytes: 0, deep: 0 };

function fuzzConnection(port: number, rand: () => number, count: number): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(sent);
    };
    const timer = setTimeout(finish, 10_000);
    let got = 0;
    sock.on("data", (d: Buffer) => {
      // read and drop whatever the target answers; count how far the connection got
      got += d.length;
      answered.bytes += d.length;
      if (got > 48 * 4 && got - d.length <= 48 * 4) answered.deep++;
    });
    sock.on("error", finish);
    sock.on("close", finish);
    sock.on("connect", () => {
      const chunks: Buffer[] = [];
      if (rand() < 0.8)
        chunks.push(
          Buffer.concat(encodePdu(loginPdu(0x800000000000 + Math.floor(rand() * 1e6)), NO_DIGESTS)),
        );
      let sn = 1;
      for (let i = 0; i < count; i++) {
        const pdu = templatePdu(rand, sn++);
        chunks.push(mutate(Buffer.concat(encodePdu(pdu, NO_DIGESTS)), rand));
        sent++;
      }
      // random chunking of the whole stream
      const stream = Buffer.concat(chunks);
      for (let off = 0; off < stream.length && !sock.destroyed; ) {
        const n = 1 + Math.floor(rand() * 3000);
        sock.write(stream.subarray(off, off + n));
        off += n;
      }
      sock.end();
      setTimeout(finish, 300);
    });
  });
}

function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("fuzzing the target with malformed PDUs", () => {
  let target: RunningTarget;

  beforeAll(async () => {
    target = await startTargetInProcess({
      port: 0,
      iqn: IQN,
      luns: [{ kind: "memory", sizeBytes: 32 * 1024 * 1024 }],
      commandWindow: 32,
    });
  });

  afterAll(async () => {
    await target?.stop();
  });

  it(`survives ${TOTAL_PDUS} mutated PDUs from ${CONCURRENT} concurrent connections`, {
    timeout: 120_000,
  }, async () => {
    const rand = prng(0x1badcafe);
    // warm up, then take the baseline
    await fuzzConnection(target.port, rand, 50);
    const before = memoryInUse();
    let sent = 0;
    while (sent < TOTAL_PDUS) {
      const batch: Promise<number>[] = [];
      for (let i = 0; i < CONCURRENT; i++) batch.push(fuzzConnection(target.port, rand, PER_CONNECTION));
      for (const n of await Promise.all(batch)) sent += n;
    }
    expect(sent).toBeGreaterThanOrEqual(TOTAL_PDUS);
    // the fuzz reached the full feature phase on many connections (responses beyond the login)
    expect(answered.deep).toBeGreaterThan(10);

    // a normal client still logs in, writes and reads back correctly
    const session = await openSession({
      host: "127.0.0.1",
      port: target.port,
      targetName: IQN,
      initiatorName: "iqn.2026-11.io.iscsi-bench:after-fuzz",
      nopIntervalMs: 0,
      timeoutMs: 10_000,
    });
    try {
      for (const [lba, blocks] of [
        [0, 1],
        [1000, 64],
        [5000, 300],
        [65535 - 8, 8],
      ] as const) {
        const data = Buffer.alloc(blocks * 512);
        fillPattern(data, lba, 512, 77);
        const w = await writeBlocks(session, 0, lba, data, 512);
        expect(w.status, taskOutcome(w)).toBe(0);
        const r = await readBlocks(session, 0, lba, data.length, 512);
        expect(r.status, taskOutcome(r)).toBe(0);
        expect(r.dataIn!.equals(data)).toBe(true);
      }
    } finally {
      await session.logout();
    }
    // memory did not grow without bound (the LU itself may hold the blocks the fuzzer wrote)
    const grown = memoryInUse() - before;
    expect(grown).toBeLessThan(96 * 1024 * 1024);
  });
});
