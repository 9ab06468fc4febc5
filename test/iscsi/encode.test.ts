/**
 * Byte-exact vectors for every PDU type, written by hand from the layouts of RFC 7143 section 11
 * (each line is one 4-byte word of the BHS; the comment names the fields). Each vector is checked in
 * both directions: encodeBhs must produce exactly these bytes, decodePdu must read exactly this object.
 */
import { describe, expect, it } from "vitest";
import { decodePdu } from "../../src/iscsi/decode.js";
import { crc32c } from "../../src/iscsi/digest.js";
import {
  ahsLength,
  encodeBhs,
  encodeHeader,
  encodeHeaderInto,
  encodePdu,
  headerLength,
  paddedLength,
} from "../../src/iscsi/encode.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import { Opcode, type Pdu, type ScsiCommand } from "../../src/iscsi/pdu.js";

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, "").replace(/\s+/g, ""), "hex");
}

const Z4 = "00 00 00 00";
const Z8 = `${Z4} ${Z4}`;
const Z12 = `${Z8} ${Z4}`;
const Z16 = `${Z8} ${Z8}`;

const SENSE = hex(`
  00 12                                    # SenseLength 18
  70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00   # fixed sense: ILLEGAL REQUEST, ASC 0x21
`);
const READ10_CDB = hex("28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00");

interface Vector {
  name: string;
  pdu: Pdu;
  /** The 48-byte BHS. */
  bhs: string;
}

const VECTORS: Vector[] = [
  {
    name: "NOP-Out (immediate ping with data)",
    pdu: {
      opcode: Opcode.NopOut,
      immediate: true,
      lun: 0n,
      itt: 42,
      ttt: 0xffffffff,
      cmdSN: 7,
      expStatSN: 3,
      data: Buffer.from("ping"),
    },
    bhs: `
      40 80 00 00   # .|I|0x00, byte 1 = 1 (reserved bit set), reserved
      00 00 00 04   # TotalAHSLength 0, DataSegmentLength 4
      ${Z8}         # LUN 0
      00 00 00 2a   # Initiator Task Tag 42
      ff ff ff ff   # Target Transfer Tag: reserved value
      00 00 00 07   # CmdSN
      00 00 00 03   # ExpStatSN
      ${Z16}        # reserved
    `,
  },
  {
    name: "SCSI Command (RFC 7143 B.4 READ(10) example)",
    pdu: {
      opcode: Opcode.ScsiCommand,
      immediate: false,
      final: true,
      read: true,
      write: false,
      attr: 0,
      lun: 0n,
      itt: 0x14000000,
      expectedDataTransferLength: 1024,
      cmdSN: 0x14,
      expStatSN: 0x18,
      cdb: READ10_CDB,
      data: Buffer.alloc(0),
    },
    bhs: `
      01 c0 00 00   # .|.|0x01, F|R, ATTR 0 (untagged), reserved
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # LUN 0
      14 00 00 00   # Initiator Task Tag
      00 00 04 00   # Expected Data Transfer Length 1024
      00 00 00 14   # CmdSN
      00 00 00 18   # ExpStatSN
      28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00   # CDB: READ(10), LBA 0, transfer length 2 (bytes 7..8)
    `,
  },
  {
    name: "SCSI Command (WRITE(10), immediate data, flat-space LUN 300, simple attr)",
    pdu: {
      opcode: Opcode.ScsiCommand,
      immediate: false,
      final: true,
      read: false,
      write: true,
      attr: 1,
      lun: 0x412c000000000000n,
      itt: 0x01020304,
      expectedDataTransferLength: 0x2000,
      cmdSN: 0xfffffffe,
      expStatSN: 0x80000000,
      cdb: hex("2a 08 00 00 10 00 00 00 10 00 00 00 00 00 00 00"),
      data: Buffer.alloc(5, 0xab),
    },
    bhs: `
      01 a1 00 00   # .|.|0x01, F|W|ATTR 1 (simple)
      00 00 00 05   # TotalAHSLength 0, DataSegmentLength 5
      41 2c 00 00 00 00 00 00   # LUN 300, flat space addressing
      01 02 03 04   # Initiator Task Tag
      00 00 20 00   # Expected Data Transfer Length 8192
      ff ff ff fe   # CmdSN
      80 00 00 00   # ExpStatSN
      2a 08 00 00 10 00 00 00 10 00 00 00 00 00 00 00   # CDB: WRITE(10) FUA, LBA 0x1000, 16 blocks
    `,
  },
  {
    name: "Task Management Request (ABORT TASK)",
    pdu: {
      opcode: Opcode.TaskMgmtRequest,
      immediate: true,
      function: 1,
      lun: 0x0002000000000000n,
      itt: 0x30,
      referencedTaskTag: 0x2a,
      cmdSN: 9,
      expStatSN: 4,
      refCmdSN: 8,
      expDataSN: 0,
    },
    bhs: `
      42 81 00 00   # .|I|0x02, 1|Function 1 (ABORT TASK)
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      00 02 00 00 00 00 00 00   # LUN 2
      00 00 00 30   # Initiator Task Tag
      00 00 00 2a   # Referenced Task Tag
      00 00 00 09   # CmdSN
      00 00 00 04   # ExpStatSN
      00 00 00 08   # RefCmdSN
      00 00 00 00   # ExpDataSN
      ${Z8}         # reserved
    `,
  },
  {
    name: "Login Request (security -> operational, T=1)",
    pdu: {
      opcode: Opcode.LoginRequest,
      transit: true,
      cont: false,
      csg: 0,
      nsg: 1,
      versionMax: 0,
      versionMin: 0,
      isid: 0x80123456789a,
      tsih: 0,
      itt: 0,
      cid: 0x0102,
      cmdSN: 1,
      expStatSN: 0,
      data: Buffer.from("SessionType=Discovery\0"),
    },
    bhs: `
      43 81 00 00   # .|1|0x03 (always immediate), T|CSG 0|NSG 1, Version-max 0, Version-min 0
      00 00 00 16   # TotalAHSLength 0, DataSegmentLength 22
      80 12 34 56   # ISID (6 bytes): T=10b random ...
      78 9a 00 00   # ... ISID, TSIH 0
      00 00 00 00   # Initiator Task Tag
      01 02 00 00   # CID 0x0102, reserved
      00 00 00 01   # CmdSN
      00 00 00 00   # ExpStatSN
      ${Z16}        # reserved
    `,
  },
  {
    name: "Text Request (SendTargets=All)",
    pdu: {
      opcode: Opcode.TextRequest,
      immediate: false,
      final: true,
      cont: false,
      lun: 0n,
      itt: 5,
      ttt: 0xffffffff,
      cmdSN: 2,
      expStatSN: 2,
      data: Buffer.from("SendTargets=All\0"),
    },
    bhs: `
      04 80 00 00   # .|.|0x04, F
      00 00 00 10   # TotalAHSLength 0, DataSegmentLength 16
      ${Z8}         # LUN
      00 00 00 05   # Initiator Task Tag
      ff ff ff ff   # Target Transfer Tag (new request)
      00 00 00 02   # CmdSN
      00 00 00 02   # ExpStatSN
      ${Z16}        # reserved
    `,
  },
  {
    name: "SCSI Data-Out (final, with padding)",
    pdu: {
      opcode: Opcode.DataOut,
      final: true,
      lun: 0x0001000000000000n,
      itt: 0x31,
      ttt: 0x1000,
      expStatSN: 7,
      dataSN: 3,
      bufferOffset: 8192,
      data: Buffer.from([1, 2, 3, 4, 5, 6]),
    },
    bhs: `
      05 80 00 00   # .|.|0x05, F
      00 00 00 06   # TotalAHSLength 0, DataSegmentLength 6
      00 01 00 00 00 00 00 00   # LUN 1
      00 00 00 31   # Initiator Task Tag
      00 00 10 00   # Target Transfer Tag
      ${Z4}         # reserved
      00 00 00 07   # ExpStatSN
      ${Z4}         # reserved
      00 00 00 03   # DataSN
      00 00 20 00   # Buffer Offset 8192
      ${Z4}         # reserved
    `,
  },
  {
    name: "Logout Request (close connection 0x0102)",
    pdu: {
      opcode: Opcode.LogoutRequest,
      immediate: true,
      reasonCode: 1,
      itt: 0x40,
      cid: 0x0102,
      cmdSN: 12,
      expStatSN: 11,
    },
    bhs: `
      46 81 00 00   # .|I|0x06, 1|Reason Code 1 (close the connection)
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # reserved
      00 00 00 40   # Initiator Task Tag
      01 02 00 00   # CID, reserved
      00 00 00 0c   # CmdSN
      00 00 00 0b   # ExpStatSN
      ${Z16}        # reserved
    `,
  },
  {
    name: "SNACK Request (status SNACK)",
    pdu: {
      opcode: Opcode.SnackRequest,
      type: 1,
      lun: 0n,
      itt: 0x50,
      ttt: 0xffffffff,
      expStatSN: 9,
      begRun: 4,
      runLength: 2,
    },
    bhs: `
      10 81 00 00   # .|.|0x10, 1|Type 1 (Status)
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # LUN
      00 00 00 50   # Initiator Task Tag
      ff ff ff ff   # Target Transfer Tag / SNACK Tag
      ${Z4}         # reserved
      00 00 00 09   # ExpStatSN
      ${Z8}         # reserved
      00 00 00 04   # BegRun
      00 00 00 02   # RunLength
    `,
  },
  {
    name: "NOP-In (target ping)",
    pdu: {
      opcode: Opcode.NopIn,
      lun: 0n,
      itt: 0xffffffff,
      ttt: 0x99,
      statSN: 0x10,
      expCmdSN: 0x20,
      maxCmdSN: 0x5f,
      data: Buffer.alloc(0),
    },
    bhs: `
      20 80 00 00   # .|.|0x20, 1
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # LUN
      ff ff ff ff   # Initiator Task Tag (target-initiated ping)
      00 00 00 99   # Target Transfer Tag
      00 00 00 10   # StatSN
      00 00 00 20   # ExpCmdSN
      00 00 00 5f   # MaxCmdSN
      ${Z12}        # reserved
    `,
  },
  {
    name: "SCSI Response (CHECK CONDITION with sense, underflow)",
    pdu: {
      opcode: Opcode.ScsiResponse,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: true,
      response: 0,
      status: 2,
      itt: 0x2a,
      snackTag: 0,
      statSN: 0x100,
      expCmdSN: 8,
      maxCmdSN: 0x47,
      expDataSN: 0,
      bidiReadResidualCount: 0,
      residualCount: 512,
      data: SENSE,
    },
    bhs: `
      21 82 00 02   # .|.|0x21, 1 . . o u O U . = U, Response 0, Status 2 (CHECK CONDITION)
      00 00 00 14   # TotalAHSLength 0, DataSegmentLength 20
      ${Z8}         # reserved
      00 00 00 2a   # Initiator Task Tag
      00 00 00 00   # SNACK Tag
      00 00 01 00   # StatSN
      00 00 00 08   # ExpCmdSN
      00 00 00 47   # MaxCmdSN
      00 00 00 00   # ExpDataSN
      00 00 00 00   # Bidirectional Read Residual Count
      00 00 02 00   # Residual Count 512
    `,
  },
  {
    name: "SCSI Response (bidirectional overflow bits)",
    pdu: {
      opcode: Opcode.ScsiResponse,
      bidiOverflow: true,
      bidiUnderflow: false,
      overflow: false,
      underflow: true,
      response: 1,
      status: 0,
      itt: 1,
      snackTag: 0x0a0b0c0d,
      statSN: 2,
      expCmdSN: 3,
      maxCmdSN: 4,
      expDataSN: 5,
      bidiReadResidualCount: 6,
      residualCount: 7,
      data: Buffer.alloc(0),
    },
    bhs: `
      21 92 01 00   # 1 . . o u O U . = o|U, Response 1 (target failure), Status 0
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # reserved
      00 00 00 01   # Initiator Task Tag
      0a 0b 0c 0d   # SNACK Tag
      00 00 00 02   # StatSN
      00 00 00 03   # ExpCmdSN
      00 00 00 04   # MaxCmdSN
      00 00 00 05   # ExpDataSN
      00 00 00 06   # Bidirectional Read Residual Count
      00 00 00 07   # Residual Count
    `,
  },
  {
    name: "Task Management Response (function complete)",
    pdu: {
      opcode: Opcode.TaskMgmtResponse,
      response: 0,
      itt: 0x30,
      statSN: 5,
      expCmdSN: 10,
      maxCmdSN: 0x49,
    },
    bhs: `
      22 80 00 00   # .|.|0x22, 1, Response 0 (function complete), reserved
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # reserved
      00 00 00 30   # Initiator Task Tag
      ${Z4}         # reserved
      00 00 00 05   # StatSN
      00 00 00 0a   # ExpCmdSN
      00 00 00 49   # MaxCmdSN
      ${Z12}        # reserved
    `,
  },
  {
    name: "Login Response (operational -> full feature, T=1)",
    pdu: {
      opcode: Opcode.LoginResponse,
      transit: true,
      cont: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: 0x80123456789a,
      tsih: 5,
      itt: 1,
      statSN: 1,
      expCmdSN: 2,
      maxCmdSN: 0x21,
      statusClass: 0,
      statusDetail: 0,
      data: Buffer.from("HeaderDigest=None\0"),
    },
    bhs: `
      23 87 00 00   # .|.|0x23, T|CSG 1|NSG 3, Version-max 0, Version-active 0
      00 00 00 12   # TotalAHSLength 0, DataSegmentLength 18
      80 12 34 56   # ISID ...
      78 9a 00 05   # ... ISID, TSIH 5
      00 00 00 01   # Initiator Task Tag
      ${Z4}         # reserved
      00 00 00 01   # StatSN
      00 00 00 02   # ExpCmdSN
      00 00 00 21   # MaxCmdSN
      00 00 00 00   # Status-Class 0, Status-Detail 0, reserved
      ${Z8}         # reserved
    `,
  },
  {
    name: "Text Response (continued: C=1, F=0)",
    pdu: {
      opcode: Opcode.TextResponse,
      final: false,
      cont: true,
      lun: 0n,
      itt: 5,
      ttt: 0x77,
      statSN: 2,
      expCmdSN: 3,
      maxCmdSN: 0x22,
      data: Buffer.from("TargetName=t1\0"),
    },
    bhs: `
      24 40 00 00   # .|.|0x24, C
      00 00 00 0e   # TotalAHSLength 0, DataSegmentLength 14
      ${Z8}         # LUN
      00 00 00 05   # Initiator Task Tag
      00 00 00 77   # Target Transfer Tag (continuation)
      00 00 00 02   # StatSN
      00 00 00 03   # ExpCmdSN
      00 00 00 22   # MaxCmdSN
      ${Z12}        # reserved
    `,
  },
  {
    name: "SCSI Data-In (final, with status GOOD and underflow)",
    pdu: {
      opcode: Opcode.DataIn,
      final: true,
      ack: false,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: true,
      hasStatus: true,
      status: 0,
      lun: 0n,
      itt: 0x2b,
      ttt: 0xffffffff,
      statSN: 0x11,
      expCmdSN: 0x12,
      maxCmdSN: 0x51,
      dataSN: 1,
      bufferOffset: 1024,
      residualCount: 6,
      data: Buffer.from("0123456789"),
    },
    bhs: `
      25 83 00 00   # .|.|0x25, F A 0 0 0 O U S = F|U|S, reserved, Status 0
      00 00 00 0a   # TotalAHSLength 0, DataSegmentLength 10
      ${Z8}         # LUN (reserved: A=0)
      00 00 00 2b   # Initiator Task Tag
      ff ff ff ff   # Target Transfer Tag
      00 00 00 11   # StatSN
      00 00 00 12   # ExpCmdSN
      00 00 00 51   # MaxCmdSN
      00 00 00 01   # DataSN
      00 00 04 00   # Buffer Offset 1024
      00 00 00 06   # Residual Count
    `,
  },
  {
    name: "SCSI Data-In (A bit, no status)",
    pdu: {
      opcode: Opcode.DataIn,
      final: false,
      ack: true,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: false,
      hasStatus: false,
      status: 0,
      lun: 0x0003000000000000n,
      itt: 7,
      ttt: 0x1234,
      statSN: 0,
      expCmdSN: 8,
      maxCmdSN: 9,
      dataSN: 0xffffffff,
      bufferOffset: 0x00abcdef,
      residualCount: 0,
      data: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    },
    bhs: `
      25 40 00 00   # .|.|0x25, A
      00 00 00 04   # TotalAHSLength 0, DataSegmentLength 4
      00 03 00 00 00 00 00 00   # LUN 3 (with A)
      00 00 00 07   # Initiator Task Tag
      00 00 12 34   # Target Transfer Tag
      ${Z4}         # StatSN (reserved without S)
      00 00 00 08   # ExpCmdSN
      00 00 00 09   # MaxCmdSN
      ff ff ff ff   # DataSN
      00 ab cd ef   # Buffer Offset
      ${Z4}         # Residual Count
    `,
  },
  {
    name: "Logout Response",
    pdu: {
      opcode: Opcode.LogoutResponse,
      response: 0,
      itt: 0x40,
      statSN: 12,
      expCmdSN: 13,
      maxCmdSN: 0x4c,
      time2Wait: 2,
      time2Retain: 20,
    },
    bhs: `
      26 80 00 00   # .|.|0x26, 1, Response 0 (closed successfully)
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # reserved
      00 00 00 40   # Initiator Task Tag
      ${Z4}         # reserved
      00 00 00 0c   # StatSN
      00 00 00 0d   # ExpCmdSN
      00 00 00 4c   # MaxCmdSN
      ${Z4}         # reserved
      00 02 00 14   # Time2Wait 2, Time2Retain 20
      ${Z4}         # reserved
    `,
  },
  {
    name: "R2T",
    pdu: {
      opcode: Opcode.R2T,
      lun: 0x0001000000000000n,
      itt: 0x31,
      ttt: 0x1000,
      statSN: 0x12,
      expCmdSN: 0x13,
      maxCmdSN: 0x52,
      r2tSN: 0,
      bufferOffset: 65536,
      desiredDataTransferLength: 262144,
    },
    bhs: `
      31 80 00 00   # .|.|0x31, 1
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      00 01 00 00 00 00 00 00   # LUN 1
      00 00 00 31   # Initiator Task Tag
      00 00 10 00   # Target Transfer Tag
      00 00 00 12   # StatSN
      00 00 00 13   # ExpCmdSN
      00 00 00 52   # MaxCmdSN
      00 00 00 00   # R2TSN
      00 01 00 00   # Buffer Offset 65536
      00 04 00 00   # Desired Data Transfer Length 262144
    `,
  },
  {
    name: "Asynchronous Message (target requests logout in 5 s)",
    pdu: {
      opcode: Opcode.AsyncMessage,
      lun: 0n,
      statSN: 0x13,
      expCmdSN: 0x14,
      maxCmdSN: 0x53,
      asyncEvent: 1,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: 5,
      data: Buffer.alloc(0),
    },
    bhs: `
      32 80 00 00   # .|.|0x32, 1
      ${Z4}         # TotalAHSLength 0, DataSegmentLength 0
      ${Z8}         # LUN
      ff ff ff ff   # 0xffffffff
      ${Z4}         # reserved
      00 00 00 13   # StatSN
      00 00 00 14   # ExpCmdSN
      00 00 00 53   # MaxCmdSN
      01 00 00 00   # AsyncEvent 1, AsyncVCode 0, Parameter1
      00 00 00 05   # Parameter2, Parameter3 5
      ${Z4}         # reserved
    `,
  },
  {
    name: "Reject (invalid PDU field, carries the rejected header)",
    pdu: {
      opcode: Opcode.Reject,
      reason: 0x09,
      statSN: 0x14,
      expCmdSN: 0x15,
      maxCmdSN: 0x54,
      dataSN: 0,
      data: Buffer.alloc(48, 0x5a),
    },
    bhs: `
      3f 80 09 00   # .|.|0x3f, 1, Reason 0x09 (invalid PDU field)
      00 00 00 30   # TotalAHSLength 0, DataSegmentLength 48
      ${Z8}         # reserved
      ff ff ff ff   # 0xffffffff
      ${Z4}         # reserved
      00 00 00 14   # StatSN
      00 00 00 15   # ExpCmdSN
      00 00 00 54   # MaxCmdSN
      00 00 00 00   # DataSN/R2TSN
      ${Z8}         # reserved
    `,
  },
];

function pduDataOf(pdu: Pdu): Buffer {
  return "data" in pdu ? pdu.data : Buffer.alloc(0);
}

describe("every PDU type, RFC 7143 section 11 layouts", () => {
  it("covers all opcodes of pdu.ts", () => {
    const covered = new Set(VECTORS.map((v) => v.pdu.opcode));
    for (const op of Object.values(Opcode)) expect(covered.has(op), `opcode 0x${op.toString(16)}`).toBe(true);
  });

  for (const v of VECTORS) {
    it(`${v.name}: encodeBhs writes exactly the RFC bytes`, () => {
      const expected = hex(v.bhs);
      expect(expected.length).toBe(48);
      const out = Buffer.alloc(52, 0xee); // garbage around: every byte of the 48 must be written
      encodeBhs(v.pdu, out, 2);
      expect(out.subarray(2, 50).toString("hex")).toBe(expected.toString("hex"));
      expect(out[0]).toBe(0xee);
      expect(out[1]).toBe(0xee);
      expect(out[50]).toBe(0xee);
    });

    it(`${v.name}: decodePdu reads exactly the object`, () => {
      const decoded = decodePdu(hex(v.bhs), pduDataOf(v.pdu));
      expect(decoded).toEqual(v.pdu);
    });
  }
});

describe("encodeBhs details", () => {
  it("always sets the I bit of a Login Request (RFC 7143 11.12)", () => {
    const login = VECTORS.find((v) => v.pdu.opcode === Opcode.LoginRequest)!.pdu;
    const out = Buffer.alloc(48);
    encodeBhs(login, out);
    expect(out[0]).toBe(0x43);
  });

  it("zero-fills a CDB shorter than 16 bytes", () => {
    const cmd = { ...(VECTORS[1]!.pdu as ScsiCommand), cdb: hex("00 00 00 00 00 00") };
    const out = Buffer.alloc(48, 0xff);
    encodeBhs(cmd, out);
    expect(out.subarray(32, 48).toString("hex")).toBe("00".repeat(16));
  });

  it("refuses a data segment the 24-bit DataSegmentLength cannot describe", () => {
    const big = { ...(VECTORS[6]!.pdu as Pdu & { data: Buffer }), data: Buffer.alloc(0x1000000) };
    expect(() => encodeBhs(big, Buffer.alloc(48))).toThrow(ProtocolError);
  });
});

const CMD_BASE: ScsiCommand = {
  opcode: Opcode.ScsiCommand,
  immediate: false,
  final: true,
  read: true,
  write: true,
  attr: 1,
  lun: 0n,
  itt: 9,
  expectedDataTransferLength: 512,
  cmdSN: 1,
  expStatSN: 1,
  cdb: Buffer.alloc(16),
  data: Buffer.alloc(0),
};

describe("AHS (RFC 7143 11.2.2)", () => {
  it("extended CDB: first 16 bytes in the BHS, the rest in AHSType 1 with AHSLength = rest + 1, padded", () => {
    const cdb = Buffer.alloc(18);
    for (let i = 0; i < 18; i++) cdb[i] = 0xc0 + i;
    const pdu: ScsiCommand = { ...CMD_BASE, cdb };
    const header = encodeHeader(pdu, { headerDigest: false, dataDigest: false });
    expect(header.length).toBe(56);
    expect(header[4]).toBe(2); // TotalAHSLength: 8 bytes = 2 words
    expect(header.subarray(32, 48).toString("hex")).toBe(cdb.subarray(0, 16).toString("hex"));
    expect(header.subarray(48).toString("hex")).toBe(
      hex(`
        00 03       # AHSLength 3 (2 CDB bytes + the reserved byte)
        01          # AHSType 1: extended CDB
        00          # reserved
        d0 d1       # CDB bytes 16, 17
        00 00       # padding
      `).toString("hex"),
    );
  });

  it("a 32-byte CDB needs no padding: AHSLength 17, 20 bytes of AHS", () => {
    const cdb = Buffer.alloc(32, 0x7f);
    const header = encodeHeader({ ...CMD_BASE, cdb }, { headerDigest: false, dataDigest: false });
    expect(header[4]).toBe(5);
    expect(header.subarray(48, 52).toString("hex")).toBe("00110100");
    expect(header.length).toBe(48 + 20);
  });

  it("bidirectional read length: AHSType 2, AHSLength 5; after the extended CDB; unknown AHS kept", () => {
    const cdb = Buffer.alloc(18, 0x11);
    const pdu: ScsiCommand = {
      ...CMD_BASE,
      cdb,
      bidiReadLength: 4096,
      extraAhs: [{ type: "unknown", ahsType: 0x3c, specific: 7, data: hex("d1 d2 d3") }],
    };
    expect(ahsLength(pdu)).toBe(24);
    const header = encodeHeader(pdu, { headerDigest: false, dataDigest: false });
    expect(header[4]).toBe(6);
    expect(header.subarray(48).toString("hex")).toBe(
      hex(`
        00 03 01 00  11 11 00 00   # extended CDB AHS
        00 05 02 00  00 00 10 00   # bidirectional read length 4096
        00 04 3c 07  d1 d2 d3 00   # AHSType 60, specific 7, 3 bytes, 1 pad
      `).toString("hex"),
    );
    expect(decodePdu(header, Buffer.alloc(0))).toEqual(pdu);
  });

  it("other PDU types carry no AHS", () => {
    for (const v of VECTORS) {
      if (v.pdu.opcode !== Opcode.ScsiCommand) expect(ahsLength(v.pdu)).toBe(0);
    }
  });
});

describe("encodeHeader / encodePdu", () => {
  const write = VECTORS[2]!.pdu as ScsiCommand; // 5 bytes of immediate data

  it("appends the header digest over BHS + AHS, in wire order", () => {
    const cdb = Buffer.alloc(20, 3);
    const pdu: ScsiCommand = { ...CMD_BASE, cdb };
    const h = encodeHeader(pdu, { headerDigest: true, dataDigest: false });
    expect(h.length).toBe(48 + 8 + 4);
    const crc = crc32c(h.subarray(0, 56));
    expect(h.subarray(56).toString("hex")).toBe(
      Buffer.from([crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24]).toString("hex"),
    );
    expect(headerLength(pdu, { headerDigest: true, dataDigest: false })).toBe(60);
  });

  it("the B.4 READ(10) PDU gets the RFC's header digest 56 3a 96 d9", () => {
    const h = encodeHeader(VECTORS[1]!.pdu, { headerDigest: true, dataDigest: true });
    expect(h.subarray(48).toString("hex")).toBe("563a96d9");
  });

  it("returns the caller's data Buffer itself and a padding tail", () => {
    const chunks = encodePdu(write, { headerDigest: false, dataDigest: false });
    expect(chunks.length).toBe(3);
    expect(chunks[0]!.length).toBe(48);
    expect(chunks[1]).toBe(write.data); // same object: not copied
    expect(chunks[2]!.toString("hex")).toBe("000000");
  });

  it("tail = padding + data digest over data and padding", () => {
    const chunks = encodePdu(write, { headerDigest: true, dataDigest: true });
    expect(chunks.length).toBe(3);
    expect(chunks[0]!.length).toBe(52);
    expect(chunks[1]).toBe(write.data);
    const tail = chunks[2]!;
    expect(tail.length).toBe(3 + 4);
    expect(tail.subarray(0, 3).toString("hex")).toBe("000000");
    expect(tail.readUInt32LE(3)).toBe(crc32c(hex("ab ab ab ab ab 00 00 00")));
  });

  it("no tail when data is 4-aligned without digest; no data chunks when there is no data", () => {
    const nop = VECTORS[0]!.pdu; // 4 bytes
    const chunks = encodePdu(nop, { headerDigest: false, dataDigest: false });
    expect(chunks.length).toBe(2);
    const r2t = VECTORS.find((v) => v.pdu.opcode === Opcode.R2T)!.pdu;
    expect(encodePdu(r2t, { headerDigest: true, dataDigest: true }).length).toBe(1);
    const aligned = encodePdu(nop, { headerDigest: false, dataDigest: true });
    expect(aligned.length).toBe(3);
    expect(aligned[2]!.readUInt32LE(0)).toBe(crc32c(Buffer.from("ping")));
  });

  it("encodeHeaderInto writes at an offset and returns the end", () => {
    const out = Buffer.alloc(100, 0xee);
    const end = encodeHeaderInto(VECTORS[1]!.pdu, { headerDigest: true, dataDigest: false }, out, 10);
    expect(end).toBe(62);
    expect(out.subarray(58, 62).toString("hex")).toBe("563a96d9");
    expect(out[62]).toBe(0xee);
  });

  it("paddedLength rounds up to 4", () => {
    expect([0, 1, 2, 3, 4, 5, 8, 0xfffffd].map(paddedLength)).toEqual([0, 4, 4, 4, 4, 8, 8, 0x1000000]);
  });
});
