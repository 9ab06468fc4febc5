/**
 * Bytes -> PDU (RFC 7143 section 11). Pure: no sockets, no state.
 *
 * decodePdu takes the header (BHS + AHS, without the header digest) and the data segment (without
 * padding or digest), as the framer delimits them. `data` is kept as given, so it may be a view into a
 * receive buffer; everything else (CDB, AHS contents) is copied out.
 *
 * Reserved bits are ignored (be liberal in what you accept); combinations the RFC forbids are
 * rejected with ProtocolError("field") naming the field, so the target can answer with a Reject.
 */
import { ProtocolError } from "./errors.js";
import {
  type Ahs,
  BHS_LENGTH,
  type DataIn,
  type LoginRequest,
  type LoginResponse,
  Opcode,
  type Pdu,
  type ScsiCommand,
  type ScsiResponse,
} from "./pdu.js";

const EMPTY = Buffer.alloc(0);

function r32(b: Buffer, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function r16(b: Buffer, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Single-level LUN fields (bytes 2..7 zero) are cached: no BigInt allocation per PDU. */
const LUN_CACHE: bigint[] = [];

function readLun(b: Buffer, o: number): bigint {
  const hi = r32(b, o);
  const lo = r32(b, o + 4);
  if (lo === 0 && (hi & 0xffff) === 0) {
    const top = hi >>> 16;
    let v = LUN_CACHE[top];
    if (v === undefined) {
      v = BigInt(top) << 48n;
      LUN_CACHE[top] = v;
    }
    return v;
  }
  return b.readBigUInt64BE(o);
}

function readIsid(b: Buffer): number {
  return r16(b, 8) * 0x100000000 + r32(b, 10);
}

/** From a 48-byte BHS: the opcode and the lengths the framer needs. */
export function peekBhs(
  bhs: Buffer,
  offset = 0,
): { opcode: number; totalAhsLength: number; dataSegmentLength: number } {
  if (bhs.length - offset < BHS_LENGTH) {
    throw new ProtocolError("length", `BHS has ${bhs.length - offset} bytes, needs ${BHS_LENGTH}`);
  }
  return {
    opcode: bhs[offset]! & 0x3f,
    totalAhsLength: bhs[offset + 4]! * 4,
    dataSegmentLength: (bhs[offset + 5]! << 16) | (bhs[offset + 6]! << 8) | bhs[offset + 7]!,
  };
}

function noData(name: string, data: Buffer): void {
  if (data.length !== 0) {
    throw new ProtocolError("field", `${name}: DataSegmentLength must be 0, is ${data.length}`);
  }
}

/** header = BHS + AHS (no digest); data = the data segment without padding/digest (may be a view). Throws ProtocolError. */
export function decodePdu(header: Buffer, data: Buffer): Pdu {
  if (header.length < BHS_LENGTH) {
    throw new ProtocolError("length", `header has ${header.length} bytes, a BHS needs ${BHS_LENGTH}`);
  }
  const h = header;
  const totalAhs = h[4]! * 4;
  if (header.length !== BHS_LENGTH + totalAhs) {
    throw new ProtocolError(
      "length",
      `TotalAHSLength says ${totalAhs} AHS bytes, header carries ${header.length - BHS_LENGTH}`,
    );
  }
  const dsl = (h[5]! << 16) | (h[6]! << 8) | h[7]!;
  if (data.length !== dsl) {
    throw new ProtocolError("length", `DataSegmentLength ${dsl} but ${data.length} data bytes`);
  }
  const immediate = (h[0]! & 0x40) !== 0;
  const b1 = h[1]!;
  const opcode = h[0]! & 0x3f;
  switch (opcode) {
    case Opcode.DataIn:
      return decodeDataIn(h, data);
    case Opcode.ScsiCommand:
      return decodeScsiCommand(h, data, immediate, totalAhs);
    case Opcode.DataOut:
      return {
        opcode: Opcode.DataOut,
        final: (b1 & 0x80) !== 0,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        expStatSN: r32(h, 28),
        dataSN: r32(h, 36),
        bufferOffset: r32(h, 40),
        data,
      };
    case Opcode.ScsiResponse:
      return decodeScsiResponse(h, data);
    case Opcode.R2T:
      noData("R2T", data);
      return {
        opcode: Opcode.R2T,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        r2tSN: r32(h, 36),
        bufferOffset: r32(h, 40),
        desiredDataTransferLength: r32(h, 44),
      };
    case Opcode.NopOut:
      return {
        opcode: Opcode.NopOut,
        immediate,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        cmdSN: r32(h, 24),
        expStatSN: r32(h, 28),
        data,
      };
    case Opcode.NopIn:
      return {
        opcode: Opcode.NopIn,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        data,
      };
    case Opcode.TaskMgmtRequest:
      noData("Task Management Request", data);
      return {
        opcode: Opcode.TaskMgmtRequest,
        immediate,
        function: b1 & 0x7f,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        referencedTaskTag: r32(h, 20),
        cmdSN: r32(h, 24),
        expStatSN: r32(h, 28),
        refCmdSN: r32(h, 32),
        expDataSN: r32(h, 36),
      };
    case Opcode.TaskMgmtResponse:
      noData("Task Management Response", data);
      return {
        opcode: Opcode.TaskMgmtResponse,
        response: h[2]!,
        itt: r32(h, 16),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
      };
    case Opcode.LoginRequest:
      return decodeLoginRequest(h, data);
    case Opcode.LoginResponse:
      return decodeLoginResponse(h, data);
    case Opcode.TextRequest:
    case Opcode.TextResponse: {
      const final = (b1 & 0x80) !== 0;
      const cont = (b1 & 0x40) !== 0;
      const name = opcode === Opcode.TextRequest ? "Text Request" : "Text Response";
      // 11.10.2 / 11.11.2: a PDU with C=1 MUST have F=0.
      if (final && cont) throw new ProtocolError("field", `${name}: F and C bits both set`);
      if (opcode === Opcode.TextRequest) {
        return {
          opcode: Opcode.TextRequest,
          immediate,
          final,
          cont,
          lun: readLun(h, 8),
          itt: r32(h, 16),
          ttt: r32(h, 20),
          cmdSN: r32(h, 24),
          expStatSN: r32(h, 28),
          data,
        };
      }
      return {
        opcode: Opcode.TextResponse,
        final,
        cont,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        data,
      };
    }
    case Opcode.LogoutRequest: {
      noData("Logout Request", data);
      const reasonCode = b1 & 0x7f;
      if (reasonCode > 2)
        throw new ProtocolError("field", `Logout Request: reason code ${reasonCode} is reserved`);
      return {
        opcode: Opcode.LogoutRequest,
        immediate,
        reasonCode,
        itt: r32(h, 16),
        cid: r16(h, 20),
        cmdSN: r32(h, 24),
        expStatSN: r32(h, 28),
      };
    }
    case Opcode.LogoutResponse:
      noData("Logout Response", data);
      return {
        opcode: Opcode.LogoutResponse,
        response: h[2]!,
        itt: r32(h, 16),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        time2Wait: r16(h, 40),
        time2Retain: r16(h, 42),
      };
    case Opcode.SnackRequest:
      noData("SNACK Request", data);
      return {
        opcode: Opcode.SnackRequest,
        type: b1 & 0x0f,
        lun: readLun(h, 8),
        itt: r32(h, 16),
        ttt: r32(h, 20),
        expStatSN: r32(h, 28),
        begRun: r32(h, 40),
        runLength: r32(h, 44),
      };
    case Opcode.AsyncMessage:
      return {
        opcode: Opcode.AsyncMessage,
        lun: readLun(h, 8),
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        asyncEvent: h[36]!,
        asyncVCode: h[37]!,
        parameter1: r16(h, 38),
        parameter2: r16(h, 40),
        parameter3: r16(h, 42),
        data,
      };
    case Opcode.Reject:
      return {
        opcode: Opcode.Reject,
        reason: h[2]!,
        statSN: r32(h, 24),
        expCmdSN: r32(h, 28),
        maxCmdSN: r32(h, 32),
        dataSN: r32(h, 36),
        data,
      };
    default:
      throw new ProtocolError("opcode", `unknown opcode 0x${hex2(opcode)}`);
  }
}

function decodeDataIn(h: Buffer, data: Buffer): DataIn {
  const b1 = h[1]!;
  const final = (b1 & 0x80) !== 0;
  const hasStatus = (b1 & 0x01) !== 0;
  // 11.7.1: the S bit can only be set when the F bit is set.
  if (hasStatus && !final) throw new ProtocolError("field", "Data-In: S bit set without F bit");
  const overflow = (b1 & 0x04) !== 0;
  const underflow = (b1 & 0x02) !== 0;
  if (overflow && underflow) throw new ProtocolError("field", "Data-In: O and U bits both set");
  return {
    opcode: Opcode.DataIn,
    final,
    ack: (b1 & 0x40) !== 0,
    // Bits 2..4 of byte 1 are reserved in Data-In (11.7.1): there are no bidirectional o/u bits here.
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow,
    underflow,
    hasStatus,
    status: h[3]!,
    lun: readLun(h, 8),
    itt: r32(h, 16),
    ttt: r32(h, 20),
    statSN: r32(h, 24),
    expCmdSN: r32(h, 28),
    maxCmdSN: r32(h, 32),
    dataSN: r32(h, 36),
    bufferOffset: r32(h, 40),
    residualCount: r32(h, 44),
    data,
  };
}

function decodeScsiResponse(h: Buffer, data: Buffer): ScsiResponse {
  const b1 = h[1]!;
  const bidiOverflow = (b1 & 0x10) !== 0;
  const bidiUnderflow = (b1 & 0x08) !== 0;
  const overflow = (b1 & 0x04) !== 0;
  const underflow = (b1 & 0x02) !== 0;
  // 11.4.1: o/u and O/U are mutually exclusive.
  if (bidiOverflow && bidiUnderflow) throw new ProtocolError("field", "SCSI Response: o and u bits both set");
  if (overflow && underflow) throw new ProtocolError("field", "SCSI Response: O and U bits both set");
  return {
    opcode: Opcode.ScsiResponse,
    bidiOverflow,
    bidiUnderflow,
    overflow,
    underflow,
    response: h[2]!,
    status: h[3]!,
    itt: r32(h, 16),
    snackTag: r32(h, 20),
    statSN: r32(h, 24),
    expCmdSN: r32(h, 28),
    maxCmdSN: r32(h, 32),
    expDataSN: r32(h, 36),
    bidiReadResidualCount: r32(h, 40),
    residualCount: r32(h, 44),
    data,
  };
}

function decodeScsiCommand(h: Buffer, data: Buffer, immediate: boolean, totalAhs: number): ScsiCommand {
  const b1 = h[1]!;
  const attr = b1 & 0x07;
  if (attr > 4) throw new ProtocolError("field", `SCSI Command: ATTR ${attr} is reserved`);
  let extCdb: Buffer | null = null;
  let bidiReadLength: number | undefined;
  let extra: Ahs[] | undefined;
  // AHS segments (11.2.2): AHSLength(2) AHSType(1) AHS-specific(1) data, each padded to 4 bytes.
  let off = BHS_LENGTH;
  const end = BHS_LENGTH + totalAhs;
  while (off < end) {
    if (end - off < 4) throw new ProtocolError("field", "AHS: truncated AHS header");
    const len = r16(h, off);
    const type = h[off + 2]! & 0x3f;
    if (len === 0) throw new ProtocolError("field", `AHS: AHSLength 0 for AHSType ${type}`);
    const segEnd = off + ((3 + len + 3) & ~3);
    if (segEnd > end) {
      throw new ProtocolError("field", `AHS: AHSLength ${len} overruns TotalAHSLength ${totalAhs}`);
    }
    if (type === 1) {
      if (extCdb !== null) throw new ProtocolError("field", "AHS: more than one extended CDB AHS");
      extCdb = h.subarray(off + 4, off + 3 + len);
    } else if (type === 2) {
      if (len !== 5)
        throw new ProtocolError("field", `AHS: bidirectional read length AHSLength ${len}, must be 5`);
      if (bidiReadLength !== undefined)
        throw new ProtocolError("field", "AHS: more than one bidirectional AHS");
      bidiReadLength = r32(h, off + 4);
    } else {
      if (extra === undefined) extra = [];
      extra.push({
        type: "unknown",
        ahsType: h[off + 2]!,
        specific: h[off + 3]!,
        data: Buffer.from(h.subarray(off + 4, off + 3 + len)),
      });
    }
    off = segEnd;
  }
  let cdb: Buffer;
  if (extCdb === null) {
    cdb = Buffer.allocUnsafe(16);
    h.copy(cdb, 0, 32, 48);
  } else {
    cdb = Buffer.allocUnsafe(16 + extCdb.length);
    h.copy(cdb, 0, 32, 48);
    extCdb.copy(cdb, 16);
  }
  const pdu: ScsiCommand = {
    opcode: Opcode.ScsiCommand,
    immediate,
    final: (b1 & 0x80) !== 0,
    read: (b1 & 0x40) !== 0,
    write: (b1 & 0x20) !== 0,
    attr,
    lun: readLun(h, 8),
    itt: r32(h, 16),
    expectedDataTransferLength: r32(h, 20),
    cmdSN: r32(h, 24),
    expStatSN: r32(h, 28),
    cdb,
    data,
  };
  if (bidiReadLength !== undefined) pdu.bidiReadLength = bidiReadLength;
  if (extra !== undefined) pdu.extraAhs = extra;
  return pdu;
}

/** Checks of byte 1 shared by Login Request and Response (11.12.2, 11.12.3). */
function loginStages(
  name: string,
  b1: number,
): { transit: boolean; cont: boolean; csg: number; nsg: number } {
  const transit = (b1 & 0x80) !== 0;
  const cont = (b1 & 0x40) !== 0;
  const csg = (b1 >> 2) & 3;
  const nsg = b1 & 3;
  if (transit && cont) throw new ProtocolError("field", `${name}: T and C bits both set`);
  if (csg === 2) throw new ProtocolError("field", `${name}: CSG 2 is reserved`);
  if (transit && nsg === 2) throw new ProtocolError("field", `${name}: NSG 2 is reserved`);
  return { transit, cont, csg, nsg };
}

function decodeLoginRequest(h: Buffer, data: Buffer): LoginRequest {
  const s = loginStages("Login Request", h[1]!);
  return {
    opcode: Opcode.LoginRequest,
    transit: s.transit,
    cont: s.cont,
    csg: s.csg,
    nsg: s.nsg,
    versionMax: h[2]!,
    versionMin: h[3]!,
    isid: readIsid(h),
    tsih: r16(h, 14),
    itt: r32(h, 16),
    cid: r16(h, 20),
    cmdSN: r32(h, 24),
    expStatSN: r32(h, 28),
    data,
  };
}

function decodeLoginResponse(h: Buffer, data: Buffer): LoginResponse {
  const s = loginStages("Login Response", h[1]!);
  return {
    opcode: Opcode.LoginResponse,
    transit: s.transit,
    cont: s.cont,
    csg: s.csg,
    nsg: s.nsg,
    versionMax: h[2]!,
    versionActive: h[3]!,
    isid: readIsid(h),
    tsih: r16(h, 14),
    itt: r32(h, 16),
    statSN: r32(h, 24),
    expCmdSN: r32(h, 28),
    maxCmdSN: r32(h, 32),
    statusClass: h[36]!,
    statusDetail: h[37]!,
    data,
  };
}

/** An empty data segment, for callers that decode a header without data. */
export const NO_DATA: Buffer = EMPTY;
