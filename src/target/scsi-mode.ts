import type { ScsiCommandOut } from "./logical-unit.js";
import type { LuState } from "./lu-state.js";
import { isWriteProtected } from "./lu-state.js";
import {
  GOOD,
  goodAlloc,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  PARAMETER_LIST_LENGTH_ERROR,
  SAVING_NOT_SUPPORTED,
} from "./scsi-result.js";

export const PAGE_CACHING = 0x08;
export const PAGE_CONTROL = 0x0a;
export const PAGE_ALL = 0x3f;

/** Page control values of MODE SENSE (SPC-4 6.11.1). */
const PC_CURRENT = 0;
const PC_CHANGEABLE = 1;
const PC_DEFAULT = 2;

/** CACHING mode page (SBC-3 6.4.5): 20 bytes; only WCE is changeable. */
function cachingPage(lu: LuState, pc: number): Buffer {
  const p = Buffer.alloc(20);
  p[0] = PAGE_CACHING;
  p[1] = 0x12;
  if (pc === PC_CHANGEABLE) p[2] = 0x04;
  else if (pc === PC_DEFAULT || lu.wce) p[2] = 0x04; // WCE
  return p;
}

/** CONTROL mode page (SPC-4 7.5.8): 12 bytes; only SWP is changeable. */
function controlPage(lu: LuState, pc: number): Buffer {
  const p = Buffer.alloc(12);
  p[0] = PAGE_CONTROL;
  p[1] = 0x0a;
  if (pc === PC_CHANGEABLE) {
    p[4] = 0x08; // SWP
    return p;
  }
  p[2] = 0x00; // TST 0, D_SENSE 0 (fixed format sense)
  p[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering allowed
  if (pc === PC_CURRENT && lu.swp) p[4] = 0x08;
  p[5] = 0x00;
  p.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
  return p;
}

function pages(lu: LuState, page: number, pc: number): Buffer | null {
  switch (page) {
    case PAGE_CACHING:
      return cachingPage(lu, pc);
    case PAGE_CONTROL:
      return controlPage(lu, pc);
    case PAGE_ALL:
      return Buffer.concat([cachingPage(lu, pc), controlPage(lu, pc)]);
    default:
      return null;
  }
}

function blockDescriptor(lu: LuState, long: boolean): Buffer {
  if (long) {
    const d = Buffer.alloc(16);
    d.writeUInt32BE(Math.floor(lu.blocks / 0x100000000), 0);
    d.writeUInt32BE(lu.blocks >>> 0, 4);
    d.writeUInt32BE(lu.blockSize, 12);
    return d;
  }
  const d = Buffer.alloc(8);
  d.writeUInt32BE(Math.min(lu.blocks, 0xffffff), 0); // byte 0 density code 0, bytes 1..3 blocks
  d[0] = 0;
  d.writeUInt32BE(lu.blockSize & 0xffffff, 4); // byte 4 reserved, bytes 5..7 length
  return d;
}

/** MODE SENSE(6) (0x1a) and MODE SENSE(10) (0x5a), SPC-4 6.11 / 6.12. */
export function modeSense(lu: LuState, cdb: Buffer): ScsiCommandOut {
  const ten = cdb[0] === 0x5a;
  if (cdb.length < (ten ? 10 : 6)) return INVALID_FIELD_IN_CDB;
  const dbd = (cdb[1]! & 0x08) !== 0;
  const llbaa = ten && (cdb[1]! & 0x10) !== 0;
  const pc = cdb[2]! >> 6;
  const page = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  const alloc = ten ? cdb.readUInt16BE(7) : cdb[4]!;
  if (pc === 3) return SAVING_NOT_SUPPORTED;
  if (subpage !== 0 && !(page === PAGE_ALL && subpage === 0xff)) return INVALID_FIELD_IN_CDB;
  const body = pages(lu, page, pc);
  if (body === null) return INVALID_FIELD_IN_CDB;
  const desc = dbd ? null : blockDescriptor(lu, llbaa);
  const descLength = desc === null ? 0 : desc.length;
  const deviceSpecific = (isWriteProtected(lu) ? 0x80 : 0) | 0x10; // WP, DPOFUA
  let header: Buffer;
  if (ten) {
    header = Buffer.alloc(8);
    header.writeUInt16BE(6 + descLength + body.length, 0);
    header[3] = deviceSpecific;
    header[4] = llbaa ? 0x01 : 0x00;
    header.writeUInt16BE(descLength, 6);
  } else {
    header = Buffer.alloc(4);
    header[0] = 3 + descLength + body.length;
    header[2] = deviceSpecific;
    header[3] = descLength;
  }
  const parts = desc === null ? [header, body] : [header, desc, body];
  return goodAlloc(Buffer.concat(parts), alloc);
}

/**
 * MODE SELECT(6) (0x15) and MODE SELECT(10) (0x55), SPC-4 6.9 / 6.10: accepts the CACHING page
 * (WCE) and the CONTROL page (SWP); every other field must equal its current value.
 */
export function modeSelect(lu: LuState, cdb: Buffer, data: Buffer | null): ScsiCommandOut {
  const ten = cdb[0] === 0x55;
  if (cdb.length < (ten ? 10 : 6)) return INVALID_FIELD_IN_CDB;
  if ((cdb[1]! & 0x01) !== 0) return SAVING_NOT_SUPPORTED; // SP
  const length = ten ? cdb.readUInt16BE(7) : cdb[4]!;
  if (length === 0) return GOOD;
  if (data === null || data.length < length) return PARAMETER_LIST_LENGTH_ERROR;
  const list = data.subarray(0, length);
  const headerLength = ten ? 8 : 4;
  if (list.length < headerLength) return PARAMETER_LIST_LENGTH_ERROR;
  const descLength = ten ? list.readUInt16BE(6) : list[3]!;
  let pos = headerLength + descLength;
  if (pos > list.length) return PARAMETER_LIST_LENGTH_ERROR;
  let wce = lu.wce;
  let swp = lu.swp;
  while (pos < list.length) {
    if (pos + 2 > list.length) return PARAMETER_LIST_LENGTH_ERROR;
    const code = list[pos]! & 0x3f;
    if ((list[pos]! & 0x40) !== 0) return INVALID_FIELD_IN_PARAMETER_LIST; // SPF: no subpages
    const pageLength = list[pos + 1]! + 2;
    if (pos + pageLength > list.length) return PARAMETER_LIST_LENGTH_ERROR;
    const page = list.subarray(pos, pos + pageLength);
    const current = pages(lu, code, PC_CURRENT);
    const changeable = pages(lu, code, PC_CHANGEABLE);
    if (current === null || changeable === null || code === PAGE_ALL) return INVALID_FIELD_IN_PARAMETER_LIST;
    if (page.length !== current.length) return INVALID_FIELD_IN_PARAMETER_LIST;
    for (let i = 2; i < page.length; i++) {
      if ((page[i]! & ~changeable[i]!) !== (current[i]! & ~changeable[i]!))
        return INVALID_FIELD_IN_PARAMETER_LIST;
    }
    if (code === PAGE_CACHING) wce = (page[2]! & 0x04) !== 0;
    if (code === PAGE_CONTROL) swp = (page[4]! & 0x08) !== 0;
    pos += pageLength;
  }
  lu.wce = wce;
  lu.swp = swp;
  return GOOD;
}
