/**
 * SCSI sense data (SPC-4 4.5): parsing of the fixed (response codes 0x70/0x71) and descriptor
 * (0x72/0x73) formats into key, ASC/ASCQ, INFORMATION and a readable text; building of sense
 * data for the target.
 *
 * The buffers here are the sense data itself, without the 2-byte SenseLength that precedes it in
 * an iSCSI SCSI Response data segment (RFC 7143 11.4.7.2).
 */
import { ascText } from "./asc.js";

export { Asc, ascText } from "./asc.js";

export const SenseKey = {
  NO_SENSE: 0x00,
  RECOVERED_ERROR: 0x01,
  NOT_READY: 0x02,
  MEDIUM_ERROR: 0x03,
  HARDWARE_ERROR: 0x04,
  ILLEGAL_REQUEST: 0x05,
  UNIT_ATTENTION: 0x06,
  DATA_PROTECT: 0x07,
  BLANK_CHECK: 0x08,
  VENDOR_SPECIFIC: 0x09,
  COPY_ABORTED: 0x0a,
  ABORTED_COMMAND: 0x0b,
  VOLUME_OVERFLOW: 0x0d,
  MISCOMPARE: 0x0e,
  COMPLETED: 0x0f,
} as const;

const SENSE_KEY_NAMES = [
  "NO SENSE",
  "RECOVERED ERROR",
  "NOT READY",
  "MEDIUM ERROR",
  "HARDWARE ERROR",
  "ILLEGAL REQUEST",
  "UNIT ATTENTION",
  "DATA PROTECT",
  "BLANK CHECK",
  "VENDOR SPECIFIC",
  "COPY ABORTED",
  "ABORTED COMMAND",
  "RESERVED (0x0c)",
  "VOLUME OVERFLOW",
  "MISCOMPARE",
  "COMPLETED",
] as const;

/** "ILLEGAL REQUEST", "UNIT ATTENTION", ... (the sense key is 4 bits; higher bits are ignored). */
export function senseKeyName(key: number): string {
  return SENSE_KEY_NAMES[key & 0x0f]!;
}

export interface Sense {
  responseCode: number;
  descriptor: boolean;
  key: number;
  asc: number;
  ascq: number;
  /** The INFORMATION field (e.g. the first failing LBA, or the miscompare offset), null unless VALID. */
  information: number | null;
  /** e.g. "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE" */
  text: string;
}

export const SenseResponseCode = {
  FIXED_CURRENT: 0x70,
  FIXED_DEFERRED: 0x71,
  DESCRIPTOR_CURRENT: 0x72,
  DESCRIPTOR_DEFERRED: 0x73,
} as const;

/** Sense descriptor type of the information descriptor (SPC-4 4.5.2.2). */
const INFORMATION_DESCRIPTOR = 0x00;

/**
 * Parses sense data of either format. Never throws and never reads past the buffer or past the
 * ADDITIONAL SENSE LENGTH: fields that are absent read as 0 (ASC/ASCQ) or null (information).
 * Returns null when the buffer is not sense data (empty, an unknown response code, or too short to
 * hold the sense key).
 */
export function parseSense(buf: Buffer): Sense | null {
  if (buf.length < 1) return null;
  const responseCode = buf[0]! & 0x7f;
  // The ADDITIONAL SENSE LENGTH (byte 7 in both formats) bounds the valid bytes.
  const end = buf.length >= 8 ? Math.min(buf.length, 8 + buf[7]!) : buf.length;

  if (responseCode === 0x70 || responseCode === 0x71) {
    // Fixed format (SPC-4 4.5.3): key in byte 2, INFORMATION in bytes 3-6 when VALID (byte 0
    // bit 7), ASC/ASCQ in bytes 12/13.
    if (end < 3) return null;
    const key = buf[2]! & 0x0f;
    const asc = end >= 13 ? buf[12]! : 0;
    const ascq = end >= 14 ? buf[13]! : 0;
    const information = (buf[0]! & 0x80) !== 0 && buf.length >= 7 ? buf.readUInt32BE(3) : null;
    return makeSense(responseCode, false, key, asc, ascq, information);
  }

  if (responseCode === 0x72 || responseCode === 0x73) {
    // Descriptor format (SPC-4 4.5.2): key/ASC/ASCQ in bytes 1-3, descriptors from byte 8.
    if (end < 2) return null;
    const key = buf[1]! & 0x0f;
    const asc = end >= 3 ? buf[2]! : 0;
    const ascq = end >= 4 ? buf[3]! : 0;
    let information: number | null = null;
    let off = 8;
    while (off + 2 <= end) {
      const type = buf[off]!;
      const next = off + 2 + buf[off + 1]!;
      if (next > end) break;
      // Information descriptor: length 0x0a, VALID in byte 2 bit 7, 8-byte INFORMATION at 4..11.
      if (type === INFORMATION_DESCRIPTOR && next - off >= 12 && (buf[off + 2]! & 0x80) !== 0) {
        information = buf.readUInt32BE(off + 4) * 0x1_0000_0000 + buf.readUInt32BE(off + 8);
      }
      off = next;
    }
    return makeSense(responseCode, true, key, asc, ascq, information);
  }

  return null;
}

function makeSense(
  responseCode: number,
  descriptor: boolean,
  key: number,
  asc: number,
  ascq: number,
  information: number | null,
): Sense {
  return {
    responseCode,
    descriptor,
    key,
    asc,
    ascq,
    information,
    text: senseKeyName(key) + ": " + ascText(asc, ascq),
  };
}

/** Formats a sense as its text, adding the information field when present. */
export function formatSense(sense: Sense): string {
  return sense.information === null ? sense.text : sense.text + " (information " + sense.information + ")";
}

/**
 * Fixed-format sense data, current error (response code 0x70), 18 bytes, ADDITIONAL SENSE LENGTH
 * 10. With `information` (0..2^32-1) the INFORMATION field is set and the VALID bit with it; a
 * larger value does not fit the 4-byte field and leaves VALID zero (SPC-4 4.5.3).
 */
export function buildFixedSense(key: number, asc: number, ascq: number, information?: number): Buffer {
  const out = Buffer.alloc(18);
  out[0] = 0x70;
  out[2] = key & 0x0f;
  if (information !== undefined && information >= 0 && information <= 0xffff_ffff) {
    out[0] = 0xf0;
    out.writeUInt32BE(information, 3);
  }
  out[7] = 10;
  out[12] = asc & 0xff;
  out[13] = ascq & 0xff;
  return out;
}

/**
 * Fixed-format sense with a sense-key specific FIELD POINTER (SPC-4 4.5.2.4.2), as used with
 * INVALID FIELD IN CDB / INVALID FIELD IN PARAMETER LIST: SKSV set, C/D set when the field is in
 * the CDB (clear for the parameter list), the byte number in bytes 16-17, and the bit number
 * (0..7, BPV set) when given.
 */
export function buildFixedSenseWithField(
  key: number,
  asc: number,
  ascq: number,
  inCdb: boolean,
  fieldByte: number,
  fieldBit?: number,
): Buffer {
  const out = buildFixedSense(key, asc, ascq);
  let b = 0x80 | (inCdb ? 0x40 : 0);
  if (fieldBit !== undefined) b |= 0x08 | (fieldBit & 0x07);
  out[15] = b;
  out.writeUInt16BE(fieldByte & 0xffff, 16);
  return out;
}

/**
 * Descriptor-format sense data, current error (response code 0x72): 8 bytes, plus a 12-byte
 * information descriptor (type 0x00, VALID set, 8-byte INFORMATION) when `information` is given.
 */
export function buildDescriptorSense(key: number, asc: number, ascq: number, information?: number): Buffer {
  const withInfo = information !== undefined && information >= 0;
  const out = Buffer.alloc(withInfo ? 20 : 8);
  out[0] = 0x72;
  out[1] = key & 0x0f;
  out[2] = asc & 0xff;
  out[3] = ascq & 0xff;
  if (withInfo) {
    out[7] = 12;
    out[8] = INFORMATION_DESCRIPTOR;
    out[9] = 0x0a;
    out[10] = 0x80;
    out.writeUInt32BE(Math.floor(information / 0x1_0000_0000) >>> 0, 12);
    out.writeUInt32BE((information % 0x1_0000_0000) >>> 0, 16);
  }
  return out;
}
