/**
 * PDU -> bytes (RFC 7143 section 11). Pure: no sockets, no state.
 *
 * Layout of every PDU (11.2): BHS (48 bytes) | AHS (TotalAHSLength * 4 bytes) | HeaderDigest |
 * DataSegment padded to 4 bytes | DataDigest. The header digest covers BHS + AHS; the data digest
 * covers the data segment and its padding, and is present only when the segment is not empty.
 *
 * encodeBhs is the hot path (SCSI Command / Data-Out / Data-In / SCSI Response / R2T): it writes
 * every byte of the 48 with plain indexed stores, allocates nothing and throws only for a data
 * segment longer than the 24-bit DataSegmentLength can say.
 */
import { crc32c, DIGEST_LENGTH, dataDigest, writeDigest } from "./digest.js";
import { ProtocolError } from "./errors.js";
import { type Ahs, BHS_LENGTH, type DigestOptions, Opcode, type Pdu, type ScsiCommand } from "./pdu.js";

const IMMEDIATE = 0x40;
const FINAL = 0x80;
/** Largest AHS the one-byte TotalAHSLength can describe (255 words). */
export const MAX_TOTAL_AHS_LENGTH = 255 * 4;
/** Largest value of the 24-bit DataSegmentLength. */
export const MAX_DATA_SEGMENT_LENGTH = 0xffffff;

/** Rounds up to a multiple of 4 (segments are padded to 4-byte words, RFC 7143 11.2.3). */
export function paddedLength(n: number): number {
  return (n + 3) & ~3;
}

function w32(out: Buffer, off: number, v: number): void {
  out[off] = v >>> 24;
  out[off + 1] = v >>> 16;
  out[off + 2] = v >>> 8;
  out[off + 3] = v;
}

function zero(out: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) out[i] = 0;
}

function writeLun(out: Buffer, off: number, lun: bigint): void {
  if (lun === 0n) {
    w32(out, off, 0);
    w32(out, off + 4, 0);
  } else {
    out.writeBigUInt64BE(lun, off);
  }
}

/** Bytes 4..7: TotalAHSLength (in words) and the 24-bit DataSegmentLength. */
function writeLengths(out: Buffer, o: number, ahsBytes: number, dataLength: number): void {
  if (dataLength > MAX_DATA_SEGMENT_LENGTH) {
    throw new ProtocolError("length", `DataSegmentLength ${dataLength} exceeds ${MAX_DATA_SEGMENT_LENGTH}`);
  }
  out[o + 4] = ahsBytes >>> 2;
  out[o + 5] = dataLength >>> 16;
  out[o + 6] = dataLength >>> 8;
  out[o + 7] = dataLength;
}

/** ISID (6 bytes) at o+8 and TSIH (2 bytes) at o+14: Login Request / Response (11.12.5, 11.12.6). */
function writeIsidTsih(out: Buffer, o: number, isid: number, tsih: number): void {
  const hi = Math.floor(isid / 0x100000000);
  out[o + 8] = hi >>> 8;
  out[o + 9] = hi;
  w32(out, o + 10, isid >>> 0);
  out[o + 14] = tsih >>> 8;
  out[o + 15] = tsih;
}

/** Byte 1 of Login Request / Response: T C . . CSG(2) NSG(2) (11.12.1 - 11.12.3). */
function loginFlags(transit: boolean, cont: boolean, csg: number, nsg: number): number {
  return (transit ? 0x80 : 0) | (cont ? 0x40 : 0) | ((csg & 3) << 2) | (nsg & 3);
}

function ahsSegmentLength(a: Ahs): number {
  switch (a.type) {
    case "extendedCdb":
      return paddedLength(4 + a.cdb.length);
    case "bidiReadLength":
      return 8;
    default:
      return paddedLength(4 + a.data.length);
  }
}

/** Bytes of AHS (padded, i.e. TotalAHSLength * 4) the PDU implies. Only SCSI Command carries AHS. */
export function ahsLength(pdu: Pdu): number {
  if (pdu.opcode !== Opcode.ScsiCommand) return 0;
  let n = 0;
  // Extended CDB AHS (11.2.2.3): 4-byte AHS header + CDB bytes beyond 16, padded.
  if (pdu.cdb.length > 16) n += paddedLength(4 + pdu.cdb.length - 16);
  // Bidirectional read data length AHS (11.2.2.4): AHSLength 5, always 8 bytes.
  if (pdu.bidiReadLength !== undefined) n += 8;
  const extra = pdu.extraAhs;
  if (extra !== undefined) for (const a of extra) n += ahsSegmentLength(a);
  if (n > MAX_TOTAL_AHS_LENGTH) {
    throw new ProtocolError("length", `TotalAHSLength ${n} bytes exceeds ${MAX_TOTAL_AHS_LENGTH}`);
  }
  return n;
}

/** The data segment of a PDU (without padding), or null for PDU types that carry none. */
export function pduData(pdu: Pdu): Buffer | null {
  switch (pdu.opcode) {
    case Opcode.TaskMgmtRequest:
    case Opcode.LogoutRequest:
    case Opcode.SnackRequest:
    case Opcode.TaskMgmtResponse:
    case Opcode.LogoutResponse:
    case Opcode.R2T:
      return null;
    default:
      return pdu.data;
  }
}

/**
 * Writes the 48-byte BHS of `pdu` into out[offset..offset+48). DataSegmentLength = pdu.data.length
 * (0 for PDUs without data); TotalAHSLength from the AHS the pdu implies (extended CDB, bidi read length).
 * Every byte of the 48 is written (reserved ones as 0), so `out` may be a reused buffer.
 */
export function encodeBhs(pdu: Pdu, out: Buffer, offset = 0): void {
  const o = offset;
  switch (pdu.opcode) {
    // ---- hot path ----
    case Opcode.ScsiCommand: {
      // 11.3: .|I|0x01 | F R W . . ATTR | reserved(2)
      out[o] = (pdu.immediate ? IMMEDIATE : 0) | Opcode.ScsiCommand;
      out[o + 1] = (pdu.final ? FINAL : 0) | (pdu.read ? 0x40 : 0) | (pdu.write ? 0x20 : 0) | (pdu.attr & 7);
      out[o + 2] = 0;
      out[o + 3] = 0;
      writeLengths(out, o, ahsLength(pdu), pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.expectedDataTransferLength);
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      // CDB bytes 32..47: the first 16 CDB bytes, zero filled (11.3.5).
      const cdb = pdu.cdb;
      const n = Math.min(cdb.length, 16);
      for (let i = 0; i < n; i++) out[o + 32 + i] = cdb[i]!;
      for (let i = n; i < 16; i++) out[o + 32 + i] = 0;
      return;
    }
    case Opcode.DataOut: {
      // 11.8: .|.|0x05 | F reserved
      out[o] = Opcode.DataOut;
      out[o + 1] = pdu.final ? FINAL : 0;
      out[o + 2] = 0;
      out[o + 3] = 0;
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, 0);
      w32(out, o + 28, pdu.expStatSN);
      w32(out, o + 32, 0);
      w32(out, o + 36, pdu.dataSN);
      w32(out, o + 40, pdu.bufferOffset);
      w32(out, o + 44, 0);
      return;
    }
    case Opcode.DataIn: {
      // 11.7: byte 1 = F A 0 0 0 O U S. The bidirectional o/u bits do not exist here: a bidirectional
      // command's status always comes in a SCSI Response (11.7.1), so bidiOverflow/bidiUnderflow are not sent.
      out[o] = Opcode.DataIn;
      out[o + 1] =
        (pdu.final ? FINAL : 0) |
        (pdu.ack ? 0x40 : 0) |
        (pdu.overflow ? 0x04 : 0) |
        (pdu.underflow ? 0x02 : 0) |
        (pdu.hasStatus ? 0x01 : 0);
      out[o + 2] = 0;
      out[o + 3] = pdu.status;
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      w32(out, o + 36, pdu.dataSN);
      w32(out, o + 40, pdu.bufferOffset);
      w32(out, o + 44, pdu.residualCount);
      return;
    }
    case Opcode.ScsiResponse: {
      // 11.4: byte 1 = 1 . . o u O U .
      out[o] = Opcode.ScsiResponse;
      out[o + 1] =
        0x80 |
        (pdu.bidiOverflow ? 0x10 : 0) |
        (pdu.bidiUnderflow ? 0x08 : 0) |
        (pdu.overflow ? 0x04 : 0) |
        (pdu.underflow ? 0x02 : 0);
      out[o + 2] = pdu.response;
      out[o + 3] = pdu.status;
      writeLengths(out, o, 0, pdu.data.length);
      w32(out, o + 8, 0);
      w32(out, o + 12, 0);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.snackTag);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      w32(out, o + 36, pdu.expDataSN);
      w32(out, o + 40, pdu.bidiReadResidualCount);
      w32(out, o + 44, pdu.residualCount);
      return;
    }
    case Opcode.R2T: {
      // 11.8 (R2T): byte 1 = 1 reserved
      out[o] = Opcode.R2T;
      out[o + 1] = 0x80;
      out[o + 2] = 0;
      out[o + 3] = 0;
      writeLengths(out, o, 0, 0);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      w32(out, o + 36, pdu.r2tSN);
      w32(out, o + 40, pdu.bufferOffset);
      w32(out, o + 44, pdu.desiredDataTransferLength);
      return;
    }
    default:
      encodeOtherBhs(pdu, out, o);
  }
}

/** The less frequent PDU types: zero the BHS, then set the fields. */
function encodeOtherBhs(pdu: Pdu, out: Buffer, o: number): void {
  zero(out, o, o + BHS_LENGTH);
  switch (pdu.opcode) {
    case Opcode.NopOut:
      // 11.18: .|I|0x00 | 1 reserved
      out[o] = (pdu.immediate ? IMMEDIATE : 0) | Opcode.NopOut;
      out[o + 1] = 0x80;
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      return;
    case Opcode.TaskMgmtRequest:
      // 11.5: .|I|0x02 | 1 Function(7)
      out[o] = (pdu.immediate ? IMMEDIATE : 0) | Opcode.TaskMgmtRequest;
      out[o + 1] = 0x80 | (pdu.function & 0x7f);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.referencedTaskTag);
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      w32(out, o + 32, pdu.refCmdSN);
      w32(out, o + 36, pdu.expDataSN);
      return;
    case Opcode.LoginRequest:
      // 11.12: .|1|0x03 -- a Login Request is always immediate (11.12: I bit is 1).
      out[o] = IMMEDIATE | Opcode.LoginRequest;
      out[o + 1] = loginFlags(pdu.transit, pdu.cont, pdu.csg, pdu.nsg);
      out[o + 2] = pdu.versionMax;
      out[o + 3] = pdu.versionMin;
      writeLengths(out, o, 0, pdu.data.length);
      writeIsidTsih(out, o, pdu.isid, pdu.tsih);
      w32(out, o + 16, pdu.itt);
      out[o + 20] = pdu.cid >>> 8;
      out[o + 21] = pdu.cid;
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      return;
    case Opcode.TextRequest:
      // 11.10: .|I|0x04 | F C reserved
      out[o] = (pdu.immediate ? IMMEDIATE : 0) | Opcode.TextRequest;
      out[o + 1] = (pdu.final ? FINAL : 0) | (pdu.cont ? 0x40 : 0);
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      return;
    case Opcode.LogoutRequest:
      // 11.14: .|I|0x06 | 1 ReasonCode(7); CID at 20..21
      out[o] = (pdu.immediate ? IMMEDIATE : 0) | Opcode.LogoutRequest;
      out[o + 1] = 0x80 | (pdu.reasonCode & 0x7f);
      w32(out, o + 16, pdu.itt);
      out[o + 20] = pdu.cid >>> 8;
      out[o + 21] = pdu.cid;
      w32(out, o + 24, pdu.cmdSN);
      w32(out, o + 28, pdu.expStatSN);
      return;
    case Opcode.SnackRequest:
      // 11.16: .|.|0x10 | 1 . . . Type(4)
      out[o] = Opcode.SnackRequest;
      out[o + 1] = 0x80 | (pdu.type & 0x0f);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 28, pdu.expStatSN);
      w32(out, o + 40, pdu.begRun);
      w32(out, o + 44, pdu.runLength);
      return;
    case Opcode.NopIn:
      // 11.19: .|.|0x20 | 1 reserved
      out[o] = Opcode.NopIn;
      out[o + 1] = 0x80;
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      return;
    case Opcode.TaskMgmtResponse:
      // 11.6: .|.|0x22 | 1 reserved | Response
      out[o] = Opcode.TaskMgmtResponse;
      out[o + 1] = 0x80;
      out[o + 2] = pdu.response;
      w32(out, o + 16, pdu.itt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      return;
    case Opcode.LoginResponse:
      // 11.13: .|.|0x23 | T C . . CSG NSG | Version-max | Version-active
      out[o] = Opcode.LoginResponse;
      out[o + 1] = loginFlags(pdu.transit, pdu.cont, pdu.csg, pdu.nsg);
      out[o + 2] = pdu.versionMax;
      out[o + 3] = pdu.versionActive;
      writeLengths(out, o, 0, pdu.data.length);
      writeIsidTsih(out, o, pdu.isid, pdu.tsih);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      out[o + 36] = pdu.statusClass;
      out[o + 37] = pdu.statusDetail;
      return;
    case Opcode.TextResponse:
      // 11.11: .|.|0x24 | F C reserved
      out[o] = Opcode.TextResponse;
      out[o + 1] = (pdu.final ? FINAL : 0) | (pdu.cont ? 0x40 : 0);
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, pdu.itt);
      w32(out, o + 20, pdu.ttt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      return;
    case Opcode.LogoutResponse:
      // 11.15: .|.|0x26 | 1 reserved | Response; Time2Wait 40..41, Time2Retain 42..43
      out[o] = Opcode.LogoutResponse;
      out[o + 1] = 0x80;
      out[o + 2] = pdu.response;
      w32(out, o + 16, pdu.itt);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      out[o + 40] = pdu.time2Wait >>> 8;
      out[o + 41] = pdu.time2Wait;
      out[o + 42] = pdu.time2Retain >>> 8;
      out[o + 43] = pdu.time2Retain;
      return;
    case Opcode.AsyncMessage:
      // 11.9: .|.|0x32 | 1 reserved; ITT 16..19 is 0xffffffff; event at 36, parameters 38..43
      out[o] = Opcode.AsyncMessage;
      out[o + 1] = 0x80;
      writeLengths(out, o, 0, pdu.data.length);
      writeLun(out, o + 8, pdu.lun);
      w32(out, o + 16, 0xffffffff);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      out[o + 36] = pdu.asyncEvent;
      out[o + 37] = pdu.asyncVCode;
      out[o + 38] = pdu.parameter1 >>> 8;
      out[o + 39] = pdu.parameter1;
      out[o + 40] = pdu.parameter2 >>> 8;
      out[o + 41] = pdu.parameter2;
      out[o + 42] = pdu.parameter3 >>> 8;
      out[o + 43] = pdu.parameter3;
      return;
    case Opcode.Reject:
      // 11.17: .|.|0x3f | 1 reserved | Reason; ITT 16..19 is 0xffffffff
      out[o] = Opcode.Reject;
      out[o + 1] = 0x80;
      out[o + 2] = pdu.reason;
      writeLengths(out, o, 0, pdu.data.length);
      w32(out, o + 16, 0xffffffff);
      w32(out, o + 24, pdu.statSN);
      w32(out, o + 28, pdu.expCmdSN);
      w32(out, o + 32, pdu.maxCmdSN);
      w32(out, o + 36, pdu.dataSN);
      return;
    default:
      throw new ProtocolError("opcode", `unknown opcode 0x${hex2((pdu as { opcode: number }).opcode)}`);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function writeAhsSegment(a: Ahs, out: Buffer, off: number): number {
  let bytes: Buffer;
  switch (a.type) {
    case "extendedCdb":
      return writeExtendedCdbAhs(a.cdb, 0, out, off);
    case "bidiReadLength":
      return writeBidiAhs(a.length, out, off);
    default:
      bytes = a.data;
  }
  // Generic AHS (11.2.2): AHSLength counts the AHS-specific byte and the data, not the padding.
  const len = bytes.length + 1;
  out[off] = len >>> 8;
  out[off + 1] = len;
  out[off + 2] = a.ahsType;
  out[off + 3] = a.specific;
  bytes.copy(out, off + 4);
  const end = off + paddedLength(4 + bytes.length);
  zero(out, off + 4 + bytes.length, end);
  return end;
}

/** Extended CDB AHS (11.2.2.3): AHSLength = CDB length - 15, AHSType 1, reserved, CDB bytes from `from`. */
function writeExtendedCdbAhs(cdb: Buffer, from: number, out: Buffer, off: number): number {
  const n = cdb.length - from;
  const len = n + 1;
  out[off] = len >>> 8;
  out[off + 1] = len;
  out[off + 2] = 1;
  out[off + 3] = 0;
  cdb.copy(out, off + 4, from);
  const end = off + paddedLength(4 + n);
  zero(out, off + 4 + n, end);
  return end;
}

/** Bidirectional read data length AHS (11.2.2.4): AHSLength 5, AHSType 2, reserved, length. */
function writeBidiAhs(length: number, out: Buffer, off: number): number {
  out[off] = 0;
  out[off + 1] = 5;
  out[off + 2] = 2;
  out[off + 3] = 0;
  w32(out, off + 4, length);
  return off + 8;
}

/** Writes the AHS of `pdu` at `offset`; returns the offset after it. */
export function encodeAhs(pdu: Pdu, out: Buffer, offset: number): number {
  if (pdu.opcode !== Opcode.ScsiCommand) return offset;
  return encodeScsiCommandAhs(pdu, out, offset);
}

function encodeScsiCommandAhs(pdu: ScsiCommand, out: Buffer, offset: number): number {
  let off = offset;
  if (pdu.cdb.length > 16) off = writeExtendedCdbAhs(pdu.cdb, 16, out, off);
  if (pdu.bidiReadLength !== undefined) off = writeBidiAhs(pdu.bidiReadLength, out, off);
  const extra = pdu.extraAhs;
  if (extra !== undefined) for (const a of extra) off = writeAhsSegment(a, out, off);
  return off;
}

/** Length of BHS + AHS + header digest. */
export function headerLength(pdu: Pdu, digests: DigestOptions): number {
  return BHS_LENGTH + ahsLength(pdu) + (digests.headerDigest ? DIGEST_LENGTH : 0);
}

/** Writes BHS + AHS + header digest into `out` at `offset` (room: headerLength()); returns the end offset. */
export function encodeHeaderInto(pdu: Pdu, digests: DigestOptions, out: Buffer, offset: number): number {
  encodeBhs(pdu, out, offset);
  const end = encodeAhs(pdu, out, offset + BHS_LENGTH);
  if (!digests.headerDigest) return end;
  writeDigest(crc32c(out.subarray(offset, end)), out, end);
  return end + DIGEST_LENGTH;
}

/** BHS + AHS + header digest (if digests.headerDigest) in one new Buffer. */
export function encodeHeader(pdu: Pdu, digests: DigestOptions): Buffer {
  const buf = Buffer.allocUnsafe(headerLength(pdu, digests));
  encodeHeaderInto(pdu, digests, buf, 0);
  return buf;
}

/**
 * The chunks to write, in order: header; then, if the PDU has data: the data Buffer itself (NOT copied)
 * and a tail with padding + data digest when either is non-empty.
 */
export function encodePdu(pdu: Pdu, digests: DigestOptions): Buffer[] {
  const header = encodeHeader(pdu, digests);
  const data = pduData(pdu);
  if (data === null || data.length === 0) return [header];
  const tail = encodeDataTail(data, digests.dataDigest);
  return tail === null ? [header, data] : [header, data, tail];
}

/** Padding (zeros) + data digest that follow a data segment, or null when both are empty. */
export function encodeDataTail(data: Buffer, withDigest: boolean): Buffer | null {
  const pad = (4 - (data.length & 3)) & 3;
  if (pad === 0 && !withDigest) return null;
  const tail = Buffer.allocUnsafe(pad + (withDigest ? DIGEST_LENGTH : 0));
  for (let i = 0; i < pad; i++) tail[i] = 0;
  if (withDigest) writeDigest(dataDigest(data), tail, pad);
  return tail;
}
