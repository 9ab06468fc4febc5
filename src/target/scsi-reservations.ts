import type { Nexus, ScsiCommandOut } from "./logical-unit.js";
import type { LuState, PrRegistration, PrState } from "./lu-state.js";
import {
  GOOD,
  goodAlloc,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  INVALID_RELEASE_OF_PR,
  PARAMETER_LIST_LENGTH_ERROR,
  RESERVATION_CONFLICT,
} from "./scsi-result.js";

/** Persistent reservation types (SPC-4 6.15.4 Table 179). */
export const PrType = {
  WRITE_EXCLUSIVE: 1,
  EXCLUSIVE_ACCESS: 3,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 5,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 6,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 7,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 8,
} as const;

const VALID_TYPES = new Set<number>([1, 3, 5, 6, 7, 8]);

function allRegistrants(type: number): boolean {
  return type === 7 || type === 8;
}
function registrantsOnly(type: number): boolean {
  return type === 5 || type === 6 || type === 7 || type === 8;
}
function exclusiveAccess(type: number): boolean {
  return type === 3 || type === 6 || type === 8;
}

/** How a command relates to reservations: 0 never conflicts, 1 reads the medium, 2 anything else. */
function accessClass(cdb: Buffer): 0 | 1 | 2 {
  switch (cdb[0]) {
    case 0x12: // INQUIRY
    case 0xa0: // REPORT LUNS
    case 0x03: // REQUEST SENSE
    case 0x00: // TEST UNIT READY
    case 0x25: // READ CAPACITY(10)
    case 0x9e: // SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS
    case 0xa3: // MAINTENANCE IN: REPORT SUPPORTED OPERATION CODES
    case 0x5e: // PERSISTENT RESERVE IN
    case 0x5f: // PERSISTENT RESERVE OUT (its own rules)
      return 0;
    case 0x08:
    case 0x28:
    case 0xa8:
    case 0x88: // READ
    case 0x2f:
    case 0xaf:
    case 0x8f: // VERIFY
    case 0x34:
    case 0x90: // PRE-FETCH
    case 0x1a:
    case 0x5a: // MODE SENSE
      return 1;
    default:
      return 2;
  }
}

/**
 * Whether `nexus` may run the command given RESERVE(6) and the persistent reservation
 * (SPC-4 5.13.1, Table 46 simplified to the read/write classes of the commands we serve).
 */
export function reservationConflict(lu: LuState, cdb: Buffer, nexus: Nexus): boolean {
  const cls = accessClass(cdb);
  if (cls === 0) return false;
  const op = cdb[0];
  if (lu.reserve6 !== null && lu.reserve6 !== nexus.id) return op !== 0x17; // RELEASE(6) is a no-op
  const r = lu.pr.reservation;
  if (r === null) return false;
  if (op === 0x16 || op === 0x17) return true; // RESERVE/RELEASE(6) while a PR exists
  if (registrantsOnly(r.type) ? lu.pr.registrations.has(nexus.id) : r.holder === nexus.id) return false;
  return cls === 2 || exclusiveAccess(r.type);
}

/** RESERVE(6) (SPC-2 7.21): whole-LU reservation for the nexus; the 3RDPTY form is not supported. */
export function reserve6(lu: LuState, cdb: Buffer, nexus: Nexus): ScsiCommandOut {
  if (cdb.length < 6 || (cdb[1]! & 0x11) !== 0) return INVALID_FIELD_IN_CDB;
  if (lu.pr.reservation !== null) return RESERVATION_CONFLICT;
  if (lu.reserve6 !== null && lu.reserve6 !== nexus.id) return RESERVATION_CONFLICT;
  lu.reserve6 = nexus.id;
  return GOOD;
}

/** RELEASE(6) (SPC-2 7.17): releases the nexus' own reservation; anything else is a no-op. */
export function release6(lu: LuState, cdb: Buffer, nexus: Nexus): ScsiCommandOut {
  if (cdb.length < 6 || (cdb[1]! & 0x11) !== 0) return INVALID_FIELD_IN_CDB;
  if (lu.reserve6 === nexus.id) lu.reserve6 = null;
  return GOOD;
}

function writeKey(buf: Buffer, offset: number, key: bigint): void {
  buf.writeBigUInt64BE(key, offset);
}

/** iSCSI TransportID, format 01b (SPC-4 7.6.4.6): "<name>,i,0x<isid>", NUL-terminated, padded to 4. */
function transportId(reg: PrRegistration): Buffer {
  const text = Buffer.from(`${reg.initiatorName},i,0x${reg.isid.toString(16).padStart(12, "0")}`, "utf8");
  const nameLength = (text.length + 1 + 3) & ~3;
  const b = Buffer.alloc(4 + nameLength);
  b[0] = 0x40 | 0x05; // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)
  b.writeUInt16BE(nameLength, 2);
  text.copy(b, 4);
  return b;
}

function isHolder(pr: PrState, nexusId: string): boolean {
  const r = pr.reservation;
  if (r === null) return false;
  return allRegistrants(r.type) ? pr.registrations.has(nexusId) : r.holder === nexusId;
}

/** PERSISTENT RESERVE IN (SPC-4 6.14). */
export function persistentReserveIn(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 10) return INVALID_FIELD_IN_CDB;
  const sa = cdb[1]! & 0x1f;
  const alloc = cdb.readUInt16BE(7);
  const pr = lu.pr;
  switch (sa) {
    case 0x00: {
      // READ KEYS
      const regs = [...pr.registrations.values()];
      const b = Buffer.alloc(8 + 8 * regs.length);
      b.writeUInt32BE(pr.generation, 0);
      b.writeUInt32BE(8 * regs.length, 4);
      regs.forEach((r, i) => {
        writeKey(b, 8 + 8 * i, r.key);
      });
      return goodAlloc(b, alloc);
    }
    case 0x01: {
      // READ RESERVATION
      const r = pr.reservation;
      const b = Buffer.alloc(r === null ? 8 : 24);
      b.writeUInt32BE(pr.generation, 0);
      if (r !== null) {
        b.writeUInt32BE(16, 4);
        const holder = r.holder === null ? undefined : pr.registrations.get(r.holder);
        writeKey(b, 8, allRegistrants(r.type) || holder === undefined ? 0n : holder.key);
        b[21] = r.type; // SCOPE 0 (LU_SCOPE), TYPE
      }
      return goodAlloc(b, alloc);
    }
    case 0x02: {
      // REPORT CAPABILITIES
      const b = Buffer.alloc(8);
      b.writeUInt16BE(8, 0);
      b[2] = 0x00; // no CRH, SIP_C, ATP_C, PTPL_C
      b[3] = 0x80; // TMV: the type mask is valid
      b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
      b[5] = 0x01; // EX_AC_AR
      return goodAlloc(b, alloc);
    }
    case 0x03: {
      // READ FULL STATUS
      const parts: Buffer[] = [];
      for (const reg of pr.registrations.values()) {
        const tid = transportId(reg);
        const d = Buffer.alloc(24);
        writeKey(d, 0, reg.key);
        const holder = isHolder(pr, reg.nexusId);
        if (holder) {
          d[12] = 0x01; // R_HOLDER
          d[13] = pr.reservation!.type; // SCOPE 0, TYPE
        }
        d.writeUInt16BE(reg.tpgt, 18); // RELATIVE TARGET PORT IDENTIFIER
        d.writeUInt32BE(tid.length, 20);
        parts.push(d, tid);
      }
      const body = Buffer.concat(parts);
      const b = Buffer.alloc(8 + body.length);
      b.writeUInt32BE(pr.generation, 0);
      b.writeUInt32BE(body.length, 4);
      body.copy(b, 8);
      return goodAlloc(b, alloc);
    }
    default:
      return INVALID_FIELD_IN_CDB;
  }
}

function register(pr: PrState, nexus: Nexus, key: bigint): void {
  const existing = pr.registrations.get(nexus.id);
  if (existing !== undefined) existing.key = key;
  else {
    pr.registrations.set(nexus.id, {
      nexusId: nexus.id,
      initiatorName: nexus.initiatorName,
      isid: nexus.isid,
      tpgt: nexus.tpgt,
      key,
    });
  }
}

/** Removes a registration; releases the reservation when its holder goes (SPC-4 5.13.11.2.3). */
function unregister(pr: PrState, nexusId: string): void {
  pr.registrations.delete(nexusId);
  const r = pr.reservation;
  if (r === null) return;
  if (allRegistrants(r.type) ? pr.registrations.size === 0 : r.holder === nexusId) pr.reservation = null;
}

/** PERSISTENT RESERVE OUT (SPC-4 6.15): REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT (AND ABORT), REGISTER AND IGNORE EXISTING KEY. */
export function persistentReserveOut(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
  nexus: Nexus,
): ScsiCommandOut {
  if (cdb.length < 10) return INVALID_FIELD_IN_CDB;
  const sa = cdb[1]! & 0x1f;
  const scope = cdb[2]! >> 4;
  const type = cdb[2]! & 0x0f;
  const listLength = cdb.readUInt32BE(5);
  if (sa > 0x06) return INVALID_FIELD_IN_CDB; // REGISTER AND MOVE, REPLACE LOST RESERVATION: not supported
  if (listLength !== 24) return PARAMETER_LIST_LENGTH_ERROR;
  if (data === null || data.length < 24) return PARAMETER_LIST_LENGTH_ERROR;
  const key = data.readBigUInt64BE(0);
  const saKey = data.readBigUInt64BE(8);
  const flags = data[20]!;
  if ((flags & 0x08) !== 0 || (flags & 0x04) !== 0) return INVALID_FIELD_IN_PARAMETER_LIST; // SPEC_I_PT, ALL_TG_PT
  if ((flags & 0x01) !== 0) return INVALID_FIELD_IN_PARAMETER_LIST; // APTPL: no persistence over power loss
  const pr = lu.pr;
  const mine = pr.registrations.get(nexus.id);

  if (sa === 0x00 || sa === 0x06) {
    // REGISTER / REGISTER AND IGNORE EXISTING KEY
    const ignore = sa === 0x06;
    if (mine === undefined) {
      if (!ignore && key !== 0n) return RESERVATION_CONFLICT;
      if (saKey === 0n) return GOOD;
      register(pr, nexus, saKey);
    } else {
      if (!ignore && key !== mine.key) return RESERVATION_CONFLICT;
      if (saKey === 0n) unregister(pr, nexus.id);
      else mine.key = saKey;
    }
    pr.generation++;
    return GOOD;
  }
  if (mine === undefined || mine.key !== key) return RESERVATION_CONFLICT;

  switch (sa) {
    case 0x01: {
      // RESERVE
      if (scope !== 0) return INVALID_FIELD_IN_CDB;
      if (!VALID_TYPES.has(type)) return INVALID_FIELD_IN_CDB;
      const r = pr.reservation;
      if (r !== null) {
        if (!isHolder(pr, nexus.id)) return RESERVATION_CONFLICT;
        return r.type === type ? GOOD : RESERVATION_CONFLICT;
      }
      if (lu.reserve6 !== null && lu.reserve6 !== nexus.id) return RESERVATION_CONFLICT;
      pr.reservation = { holder: allRegistrants(type) ? null : nexus.id, type };
      return GOOD;
    }
    case 0x02: {
      // RELEASE
      const r = pr.reservation;
      if (r === null || !isHolder(pr, nexus.id)) return GOOD;
      if (scope !== 0 || r.type !== type) return INVALID_RELEASE_OF_PR;
      pr.reservation = null;
      return GOOD;
    }
    case 0x03: {
      // CLEAR
      pr.registrations.clear();
      pr.reservation = null;
      pr.generation++;
      return GOOD;
    }
    case 0x04:
    case 0x05: {
      // PREEMPT / PREEMPT AND ABORT (tasks complete synchronously: nothing left to abort)
      const r = pr.reservation;
      const victims = [...pr.registrations.values()].filter((reg) => reg.key === saKey);
      if (r === null) {
        if (victims.length === 0) return RESERVATION_CONFLICT;
        for (const v of victims) pr.registrations.delete(v.nexusId);
        pr.generation++;
        return GOOD;
      }
      if (!VALID_TYPES.has(type) || scope !== 0) return INVALID_FIELD_IN_CDB;
      if (allRegistrants(r.type)) {
        if (saKey === 0n) {
          for (const id of [...pr.registrations.keys()]) if (id !== nexus.id) pr.registrations.delete(id);
          pr.reservation = { holder: allRegistrants(type) ? null : nexus.id, type };
        } else {
          if (victims.length === 0) return RESERVATION_CONFLICT;
          for (const v of victims) pr.registrations.delete(v.nexusId);
        }
        pr.generation++;
        return GOOD;
      }
      const holder = r.holder === null ? undefined : pr.registrations.get(r.holder);
      if (holder !== undefined && holder.key === saKey) {
        for (const v of victims) if (v.nexusId !== nexus.id) pr.registrations.delete(v.nexusId);
        pr.reservation = { holder: allRegistrants(type) ? null : nexus.id, type };
      } else {
        if (saKey === 0n) return INVALID_FIELD_IN_PARAMETER_LIST;
        if (victims.length === 0) return RESERVATION_CONFLICT;
        for (const v of victims) pr.registrations.delete(v.nexusId);
      }
      pr.generation++;
      return GOOD;
    }
    default:
      return INVALID_FIELD_IN_CDB;
  }
}

/** Session gone: RESERVE(6) held by it is released; persistent reservations stay (SPC-4 5.13.1). */
export function releaseNexus(lu: LuState, nexus: Nexus): void {
  if (lu.reserve6 === nexus.id) lu.reserve6 = null;
  lu.prevent.delete(nexus.id);
}
