import type { ScsiCommandOut } from "./logical-unit.js";
import type { LuState } from "./lu-state.js";
import { good, goodAlloc, INVALID_FIELD_IN_CDB } from "./scsi-result.js";

/** READ CAPACITY(10) (SBC-3 5.15): last LBA (0xffffffff when it does not fit) and block length. */
export function readCapacity10(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 10) return INVALID_FIELD_IN_CDB;
  const pmi = (cdb[8]! & 0x01) !== 0;
  if (!pmi && cdb.readUInt32BE(2) !== 0) return INVALID_FIELD_IN_CDB; // LBA must be 0 without PMI
  const b = Buffer.alloc(8);
  const last = lu.blocks - 1;
  b.writeUInt32BE(last > 0xfffffffe ? 0xffffffff : last, 0);
  b.writeUInt32BE(lu.blockSize, 4);
  return good(b);
}

/** READ CAPACITY(16) (SBC-3 5.16): 32 bytes with LBPME and LBPRZ set (thin provisioning). */
export function readCapacity16(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 16) return INVALID_FIELD_IN_CDB;
  const alloc = cdb.readUInt32BE(10);
  const b = Buffer.alloc(32);
  const last = lu.blocks - 1;
  b.writeUInt32BE(Math.floor(last / 0x100000000), 0);
  b.writeUInt32BE(last >>> 0, 4);
  b.writeUInt32BE(lu.blockSize, 8);
  b[14] = 0x80 | 0x40; // LBPME, LBPRZ
  return goodAlloc(b, alloc);
}
