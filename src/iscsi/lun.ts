/**
 * The 8-byte LUN field of iSCSI PDUs (RFC 7143 11.2.1.5 defers to SAM). We support the two
 * single-level addressing methods every target uses (SAM-5 4.7):
 * - peripheral device addressing (method 00b, bus 0): LUN 0..255 in byte 1;
 * - flat space addressing (method 01b): LUN 0..16383 in the low 6 bits of byte 0 and byte 1.
 * Bytes 2..7 (the lower addressing levels) are zero.
 */
import { InputError } from "../common/errors.js";
import { ProtocolError } from "./errors.js";

/** Highest LUN the flat space method can carry. */
export const MAX_LUN = 0x3fff;

const SMALL_LUNS: bigint[] = [];
for (let i = 0; i < 256; i++) SMALL_LUNS.push(BigInt(i) << 48n);

/** LUN number -> 8-byte LUN field (as a big-endian 64-bit value). */
export function encodeLun(lun: number): bigint {
  if (lun >= 0 && lun < 256 && Number.isInteger(lun)) return SMALL_LUNS[lun]!;
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
    throw new InputError(`LUN ${lun} is out of range 0..${MAX_LUN}`);
  }
  return BigInt(0x4000 | lun) << 48n;
}

/** 8-byte LUN field -> LUN number; ProtocolError("field") for addressing we do not support. */
export function decodeLun(field: bigint): number {
  if (field < 0n || field > 0xffffffffffffffffn) {
    throw new ProtocolError("field", `LUN field ${field} is not a 64-bit value`);
  }
  const top = Number(field >> 48n);
  const b0 = top >> 8;
  const b1 = top & 0xff;
  if ((field & 0xffffffffffffn) !== 0n) {
    throw new ProtocolError("field", `LUN field 0x${hex16(field)}: multi-level LUNs are not supported`);
  }
  const method = b0 >> 6;
  if (method === 0) {
    if ((b0 & 0x3f) !== 0) {
      throw new ProtocolError(
        "field",
        `LUN field 0x${hex16(field)}: peripheral addressing with bus ${b0 & 0x3f}`,
      );
    }
    return b1;
  }
  if (method === 1) return ((b0 & 0x3f) << 8) | b1;
  throw new ProtocolError(
    "field",
    `LUN field 0x${hex16(field)}: addressing method ${method} (${method === 2 ? "logical unit" : "extended"}) is not supported`,
  );
}

function hex16(field: bigint): string {
  return field.toString(16).padStart(16, "0");
}
