/**
 * REPORT LUNS parameter data (SPC-4 6.33.2): LUN LIST LENGTH (bytes 0-3, in bytes), 4 reserved
 * bytes, then one 8-byte LUN per entry. LUNs use the SAM-5 single-level formats: peripheral
 * device addressing (method 00b, LUN in byte 1) for 0..255 and flat space addressing (method 01b,
 * 14-bit LUN in bytes 0-1) for 256..16383, as iSCSI targets report them.
 */

import { InputError } from "../common/errors.js";
import { ProtocolError } from "../iscsi/errors.js";

const WHAT = "REPORT LUNS data";

/** The bytes the full response needs (8 + LUN LIST LENGTH): re-issue with this allocation length when larger than what came back. */
export function reportLunsLength(buf: Buffer): number {
  if (buf.length < 4)
    throw new ProtocolError(
      "length",
      `${WHAT}: truncated at LUN LIST LENGTH (need 4 bytes, have ${buf.length})`,
    );
  return 8 + buf.readUInt32BE(0);
}

/** Decodes one 8-byte single-level LUN at `off`; ProtocolError("field") for other addressing. */
function decodeLunEntry(buf: Buffer, off: number, index: number): number {
  const b0 = buf[off]!;
  const method = b0 >> 6;
  let lun: number;
  if (method === 0 && (b0 & 0x3f) === 0) {
    lun = buf[off + 1]!; // peripheral device addressing, bus identifier 0
  } else if (method === 1) {
    lun = ((b0 & 0x3f) << 8) | buf[off + 1]!; // flat space addressing
  } else {
    throw new ProtocolError(
      "field",
      `${WHAT}: LUN entry ${index} (${buf.toString("hex", off, off + 8)}) uses an unsupported addressing method`,
    );
  }
  for (let i = off + 2; i < off + 8; i++) {
    if (buf[i] !== 0) {
      throw new ProtocolError(
        "field",
        `${WHAT}: LUN entry ${index} (${buf.toString("hex", off, off + 8)}) is not a single-level LUN`,
      );
    }
  }
  return lun;
}

/**
 * The LUNs listed, in order. Throws ProtocolError("length") when the buffer holds less than
 * LUN LIST LENGTH says (the allocation length was too small: see reportLunsLength), and
 * ProtocolError("field") for a LIST LENGTH that is not a multiple of 8 or a LUN in a format other
 * than peripheral / flat space addressing.
 */
export function parseReportLuns(buf: Buffer): number[] {
  const listBytes = reportLunsLength(buf) - 8;
  if (listBytes % 8 !== 0)
    throw new ProtocolError("field", `${WHAT}: LUN LIST LENGTH ${listBytes} is not a multiple of 8`);
  const end = 8 + listBytes;
  if (buf.length < end) {
    throw new ProtocolError(
      "length",
      `${WHAT}: truncated at LUN list (LUN LIST LENGTH ${listBytes}; need ${end} bytes, have ${buf.length})`,
    );
  }
  const luns: number[] = [];
  for (let off = 8, i = 0; off < end; off += 8, i++) luns.push(decodeLunEntry(buf, off, i));
  return luns;
}

/** Target side: REPORT LUNS parameter data for `luns` (each 0..16383). */
export function buildReportLunsData(luns: number[]): Buffer {
  const out = Buffer.alloc(8 + 8 * luns.length);
  out.writeUInt32BE(8 * luns.length, 0);
  for (let i = 0; i < luns.length; i++) {
    const lun = luns[i]!;
    const off = 8 + 8 * i;
    if (!Number.isInteger(lun) || lun < 0 || lun > 16383)
      throw new InputError(`REPORT LUNS: LUN ${lun} is out of range (0..16383)`);
    if (lun < 256) {
      out[off + 1] = lun;
    } else {
      out[off] = 0x40 | (lun >> 8);
      out[off + 1] = lun & 0xff;
    }
  }
  return out;
}
