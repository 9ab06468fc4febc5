import { buildReportLunsData } from "../scsi/report-luns.js";
import type { LuContext, Nexus, ScsiCommandOut } from "./logical-unit.js";
import type { LuState } from "./lu-state.js";
import { GOOD, goodAlloc, INVALID_FIELD_IN_CDB } from "./scsi-result.js";

/** REPORT LUNS (SPC-4 6.33): SELECT REPORT 0, 1 (no well-known LUs: empty) or 2; allocation length >= 16. */
export function reportLuns(ctx: LuContext, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 12) return INVALID_FIELD_IN_CDB;
  const select = cdb[2]!;
  const alloc = cdb.readUInt32BE(6);
  if (select > 2 || alloc < 16) return INVALID_FIELD_IN_CDB;
  const data = buildReportLunsData(select === 1 ? [] : ctx.lunList());
  return goodAlloc(data, alloc);
}

/**
 * REQUEST SENSE (SPC-4 6.39): sense is always delivered with the failing command (autosense),
 * so there is nothing pending: NO SENSE (or the given key/ASC/ASCQ, e.g. LOGICAL UNIT NOT
 * SUPPORTED for a LUN without an LU), in fixed or (DESC=1) descriptor format.
 */
export function requestSense(cdb: Buffer, key = 0, asc = 0, ascq = 0): ScsiCommandOut {
  if (cdb.length < 6) return INVALID_FIELD_IN_CDB;
  const desc = (cdb[1]! & 0x01) !== 0;
  const alloc = cdb[4]!;
  let b: Buffer;
  if (desc) {
    b = Buffer.alloc(8);
    b[0] = 0x72;
    b[1] = key;
    b[2] = asc;
    b[3] = ascq;
  } else {
    b = Buffer.alloc(18);
    b[0] = 0x70;
    b[2] = key;
    b[7] = 10; // ADDITIONAL SENSE LENGTH
    b[12] = asc;
    b[13] = ascq;
  }
  return goodAlloc(b, alloc);
}

/** START STOP UNIT (SBC-3 5.25): a non-removable medium that is always ready; power conditions 0..7 and 0xA, 0xB accepted. */
export function startStopUnit(_lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 6) return INVALID_FIELD_IN_CDB;
  const condition = cdb[4]! >> 4;
  if (condition > 7 && condition !== 0x0a && condition !== 0x0b) return INVALID_FIELD_IN_CDB;
  return GOOD;
}

/** PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.12): remembered per nexus; nothing can be removed anyway. */
export function preventAllow(lu: LuState, cdb: Buffer, nexus: Nexus): ScsiCommandOut {
  if (cdb.length < 6) return INVALID_FIELD_IN_CDB;
  const prevent = cdb[4]! & 0x03;
  if (prevent === 0) lu.prevent.delete(nexus.id);
  else if (prevent === 1) lu.prevent.add(nexus.id);
  else return INVALID_FIELD_IN_CDB; // 10b/11b: obsolete/reserved for direct-access devices
  return GOOD;
}
