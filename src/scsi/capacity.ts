/**
 * READ CAPACITY(10) and (16) parameter data (SBC-3 5.15.2, 5.16.2).
 */
import { ProtocolError } from "../iscsi/errors.js";

export interface Capacity {
  lastLba: number;
  blockSize: number;
  /** lastLba + 1 */
  blocks: number;
  /** LBPME: logical block provisioning management enabled (thin provisioning). (16) only. */
  thinProvisioned: boolean;
  /** LBPRZ: unmapped blocks read as zeros. (16) only. */
  lbprz: boolean;
}

export interface Capacity16 extends Capacity {
  /** PROT_EN: protection information enabled; P_TYPE when enabled. */
  protectionEnabled: boolean;
  protectionType: number;
  /** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: physical block = blockSize << exponent. */
  logicalPerPhysicalExponent: number;
  lowestAlignedLba: number;
}

/** RETURNED LOGICAL BLOCK ADDRESS of READ CAPACITY(10) meaning "too large, use READ CAPACITY(16)". */
export const RC10_USE_16 = 0xffff_ffff;

function truncated(what: string, field: string, need: number, have: number): ProtocolError {
  return new ProtocolError("length", `${what}: truncated at ${field} (need ${need} bytes, have ${have})`);
}

/**
 * READ CAPACITY(10): RETURNED LOGICAL BLOCK ADDRESS bytes 0-3, LOGICAL BLOCK LENGTH IN BYTES 4-7.
 * A lastLba of 0xffffffff (RC10_USE_16) means the capacity does not fit; issue READ CAPACITY(16).
 */
export function parseReadCapacity10(buf: Buffer): Capacity {
  const what = "READ CAPACITY(10) data";
  if (buf.length < 4) throw truncated(what, "RETURNED LOGICAL BLOCK ADDRESS", 4, buf.length);
  if (buf.length < 8) throw truncated(what, "LOGICAL BLOCK LENGTH IN BYTES", 8, buf.length);
  const lastLba = buf.readUInt32BE(0);
  return {
    lastLba,
    blockSize: buf.readUInt32BE(4),
    blocks: lastLba + 1,
    thinProvisioned: false,
    lbprz: false,
  };
}

/**
 * READ CAPACITY(16): RETURNED LOGICAL BLOCK ADDRESS bytes 0-7, LOGICAL BLOCK LENGTH IN BYTES
 * 8-11, P_TYPE/PROT_EN byte 12, exponents byte 13, LBPME (byte 14 bit 7), LBPRZ (byte 14 bit 6)
 * and LOWEST ALIGNED LOGICAL BLOCK ADDRESS (bytes 14-15, 14 bits). The first 16 bytes are required.
 */
export function parseReadCapacity16(buf: Buffer): Capacity16 {
  const what = "READ CAPACITY(16) data";
  if (buf.length < 8) throw truncated(what, "RETURNED LOGICAL BLOCK ADDRESS", 8, buf.length);
  if (buf.length < 12) throw truncated(what, "LOGICAL BLOCK LENGTH IN BYTES", 12, buf.length);
  if (buf.length < 14) throw truncated(what, "LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT", 14, buf.length);
  if (buf.length < 16) throw truncated(what, "LBPME", 16, buf.length);
  const hi = buf.readUInt32BE(0);
  if (hi >= 0x20_0000) {
    throw new ProtocolError(
      "field",
      `${what}: RETURNED LOGICAL BLOCK ADDRESS exceeds 2^53 (high word ${hi})`,
    );
  }
  const lastLba = hi * 0x1_0000_0000 + buf.readUInt32BE(4);
  return {
    lastLba,
    blockSize: buf.readUInt32BE(8),
    blocks: lastLba + 1,
    thinProvisioned: (buf[14]! & 0x80) !== 0,
    lbprz: (buf[14]! & 0x40) !== 0,
    protectionEnabled: (buf[12]! & 0x01) !== 0,
    protectionType: (buf[12]! >> 1) & 0x07,
    logicalPerPhysicalExponent: buf[13]! & 0x0f,
    lowestAlignedLba: buf.readUInt16BE(14) & 0x3fff,
  };
}
