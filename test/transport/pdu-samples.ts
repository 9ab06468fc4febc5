/**
 * One sample PDU per opcode of pdu.ts for the transport tests: data segments of every padding
 * length (0..3 bytes of pad), a SCSI Command with a 32-byte CDB (extended CDB AHS) and one with a
 * bidirectional read length AHS, and PDU types without a data segment.
 */
import { type InitiatorPdu, Opcode, type Pdu, type TargetPdu } from "../../src/iscsi/pdu.js";

export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const LUN = 0x0001000000000000n;

export const INITIATOR_SAMPLES: Record<string, InitiatorPdu> = {
  NopOut: {
    opcode: Opcode.NopOut,
    immediate: true,
    lun: 0n,
    itt: 1,
    ttt: 0xffffffff,
    cmdSN: 10,
    expStatSN: 3,
    data: pattern(5, 1), // 3 bytes of padding
  },
  ScsiCommand: {
    opcode: Opcode.ScsiCommand,
    immediate: false,
    final: true,
    read: false,
    write: true,
    attr: 1,
    lun: LUN,
    itt: 2,
    expectedDataTransferLength: 4096,
    cmdSN: 11,
    expStatSN: 3,
    cdb: pattern(32, 2), // extended CDB AHS of 16 bytes + 4 header, padded
    data: pattern(14, 3), // 2 bytes of padding
  },
  TaskMgmtRequest: {
    opcode: Opcode.TaskMgmtRequest,
    immediate: true,
    function: 1,
    lun: LUN,
    itt: 3,
    referencedTaskTag: 2,
    cmdSN: 12,
    expStatSN: 3,
    refCmdSN: 11,
    expDataSN: 0,
  },
  LoginRequest: {
    opcode: Opcode.LoginRequest,
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionMin: 0,
    isid: 0x400001370000,
    tsih: 0,
    itt: 4,
    cid: 0,
    cmdSN: 12,
    expStatSN: 0,
    data: Buffer.from("InitiatorName=iqn.2026-11.test:a\0SessionType=Normal\0"),
  },
  TextRequest: {
    opcode: Opcode.TextRequest,
    immediate: true,
    final: true,
    cont: false,
    lun: 0n,
    itt: 5,
    ttt: 0xffffffff,
    cmdSN: 12,
    expStatSN: 4,
    data: Buffer.from("SendTargets=All\0"), // 16 bytes, no padding
  },
  DataOut: {
    opcode: Opcode.DataOut,
    final: true,
    lun: LUN,
    itt: 2,
    ttt: 0x77,
    expStatSN: 4,
    dataSN: 0,
    bufferOffset: 14,
    data: pattern(4082, 4), // 2 bytes of padding
  },
  LogoutRequest: {
    opcode: Opcode.LogoutRequest,
    immediate: true,
    reasonCode: 0,
    itt: 6,
    cid: 0,
    cmdSN: 13,
    expStatSN: 5,
  },
  SnackRequest: {
    opcode: Opcode.SnackRequest,
    type: 0,
    lun: LUN,
    itt: 7,
    ttt: 0xffffffff,
    expStatSN: 5,
    begRun: 1,
    runLength: 2,
  },
};

export const TARGET_SAMPLES: Record<string, TargetPdu> = {
  NopIn: {
    opcode: Opcode.NopIn,
    lun: 0n,
    itt: 1,
    ttt: 0xffffffff,
    statSN: 3,
    expCmdSN: 11,
    maxCmdSN: 40,
    data: pattern(5, 1),
  },
  ScsiResponse: {
    opcode: Opcode.ScsiResponse,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: true,
    response: 0,
    status: 2,
    itt: 2,
    snackTag: 0,
    statSN: 4,
    expCmdSN: 12,
    maxCmdSN: 41,
    expDataSN: 1,
    bidiReadResidualCount: 0,
    residualCount: 512,
    data: pattern(20, 5), // sense, no padding
  },
  TaskMgmtResponse: {
    opcode: Opcode.TaskMgmtResponse,
    response: 0,
    itt: 3,
    statSN: 5,
    expCmdSN: 13,
    maxCmdSN: 42,
  },
  LoginResponse: {
    opcode: Opcode.LoginResponse,
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionActive: 0,
    isid: 0x400001370000,
    tsih: 7,
    itt: 4,
    statSN: 1,
    expCmdSN: 12,
    maxCmdSN: 43,
    statusClass: 0,
    statusDetail: 0,
    data: Buffer.from("HeaderDigest=None\0"), // 18 bytes: 2 of padding
  },
  TextResponse: {
    opcode: Opcode.TextResponse,
    final: true,
    cont: false,
    lun: 0n,
    itt: 5,
    ttt: 0xffffffff,
    statSN: 6,
    expCmdSN: 13,
    maxCmdSN: 44,
    data: Buffer.from("TargetName=iqn.2026-11.test:t\0"), // 31 bytes: 1 of padding
  },
  DataIn: {
    opcode: Opcode.DataIn,
    final: true,
    ack: false,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: false,
    hasStatus: true,
    status: 0,
    lun: 0n,
    itt: 8,
    ttt: 0xffffffff,
    statSN: 7,
    expCmdSN: 13,
    maxCmdSN: 44,
    dataSN: 0,
    bufferOffset: 0,
    residualCount: 0,
    data: pattern(8191, 6), // 1 byte of padding
  },
  LogoutResponse: {
    opcode: Opcode.LogoutResponse,
    response: 0,
    itt: 6,
    statSN: 8,
    expCmdSN: 14,
    maxCmdSN: 45,
    time2Wait: 2,
    time2Retain: 20,
  },
  R2T: {
    opcode: Opcode.R2T,
    lun: LUN,
    itt: 2,
    ttt: 0x77,
    statSN: 9,
    expCmdSN: 14,
    maxCmdSN: 45,
    r2tSN: 0,
    bufferOffset: 14,
    desiredDataTransferLength: 4082,
  },
  AsyncMessage: {
    opcode: Opcode.AsyncMessage,
    lun: 0n,
    statSN: 10,
    expCmdSN: 14,
    maxCmdSN: 45,
    asyncEvent: 1,
    asyncVCode: 0,
    parameter1: 0,
    parameter2: 0,
    parameter3: 3,
    data: Buffer.alloc(0),
  },
  Reject: {
    opcode: Opcode.Reject,
    reason: 9,
    statSN: 11,
    expCmdSN: 14,
    maxCmdSN: 45,
    dataSN: 0xffffffff,
    data: pattern(48, 7),
  },
};

/** Every sample, both directions (the transport does not care which side sends what). */
export const ALL_SAMPLES: Record<string, Pdu> = { ...INITIATOR_SAMPLES, ...TARGET_SAMPLES };

/** A SCSI Command with a bidirectional read length AHS and a 16-byte CDB (no extended CDB). */
export const BIDI_COMMAND: Pdu = {
  ...INITIATOR_SAMPLES["ScsiCommand"]!,
  cdb: pattern(16, 9),
  bidiReadLength: 8192,
} as Pdu;
