import { decodeRwCdbInto, type RwCdb } from "../scsi/cdb-decode.js";
import type { ScsiCommandOut } from "./logical-unit.js";
import { inRange, isWriteProtected, type LuState } from "./lu-state.js";
import { isNoSpace } from "./lun-backend.js";
import {
  firstDifference,
  GOOD,
  good,
  INVALID_FIELD_IN_CDB,
  LBA_OUT_OF_RANGE,
  miscompare,
  READ_ERROR,
  SPACE_ALLOCATION_FAILED,
  WRITE_ERROR,
  WRITE_PROTECTED,
} from "./scsi-result.js";

/**
 * The block commands of SBC-3: READ/WRITE(6/10/12/16), WRITE AND VERIFY, VERIFY, PRE-FETCH,
 * ORWRITE, COMPARE AND WRITE, SYNCHRONIZE CACHE. Hot path: READ/WRITE decode into a reused
 * scratch object and return views of the store; only FUA and flushes go asynchronous.
 */

/** The decoded CDB (shared decoder) plus byte 1 as it is: PROTECT 7-5, DPO 4, FUA 3, BYTCHK 2-1. */
const rw: RwCdb & { flags: number } = {
  opcode: 0,
  lba: 0,
  blocks: 0,
  fua: false,
  dpo: false,
  write: false,
  flags: 0,
};

/** Fills `rw` from a block-command CDB; false when the CDB is too short for its opcode. */
function decode(cdb: Buffer): boolean {
  if (!decodeRwCdbInto(cdb, rw)) return false;
  rw.flags = cdb[0]! >> 5 === 0 ? 0 : cdb[1]!; // the 6-byte CDBs have no flag bits
  return true;
}

const FUA = 0x08;

/** Stores `data` at byte `offset`, then honours FUA (or a disabled write cache) with a flush. */
function store(
  lu: LuState,
  offset: number,
  data: Buffer,
  flags: number,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  try {
    lu.backend.write(offset, data);
  } catch (err) {
    // out of room is not a medium error: the initiator may free space (UNMAP) and retry
    return isNoSpace(err) ? SPACE_ALLOCATION_FAILED : WRITE_ERROR;
  }
  if ((flags & FUA) === 0 && lu.wce) return GOOD;
  return lu.backend.flush().then(
    () => GOOD,
    () => WRITE_ERROR,
  );
}

/** Common checks of a data-transferring command; null when it may proceed. */
function check(lu: LuState, write: boolean): ScsiCommandOut | null {
  if ((rw.flags & 0xe0) !== 0) return INVALID_FIELD_IN_CDB; // no protection information
  if (!inRange(lu, rw.lba, rw.blocks)) return LBA_OUT_OF_RANGE;
  if (write && isWriteProtected(lu)) return WRITE_PROTECTED;
  if (rw.blocks > lu.maxTransferBlocks) return INVALID_FIELD_IN_CDB;
  return null;
}

/** READ(6/10/12/16). */
export function read(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  const bad = check(lu, false);
  if (bad !== null) return bad;
  if (rw.blocks === 0) return GOOD;
  try {
    return good(lu.backend.read(rw.lba * lu.blockSize, rw.blocks * lu.blockSize));
  } catch {
    return READ_ERROR;
  }
}

/** WRITE(6/10/12/16) and WRITE AND VERIFY(10/12/16) (the verify is of what was just written). */
export function write(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  const bad = check(lu, true);
  if (bad !== null) return bad;
  if (rw.blocks === 0) return GOOD;
  // When the initiator sent less than the CDB implies (iSCSI EDTL < SCSI transfer length), only
  // the whole blocks that arrived are written and the core reports the residual overflow
  // (RFC 7143 11.4.5.1; libiscsi's residual tests expect GOOD with exactly that).
  const have = data === null ? 0 : data.length - (data.length % lu.blockSize);
  const length = Math.min(rw.blocks * lu.blockSize, have);
  if (length === 0) return GOOD;
  const flags = rw.flags;
  return store(lu, rw.lba * lu.blockSize, data!.length === length ? data! : data!.subarray(0, length), flags);
}

/** VERIFY(10/12/16) (SBC-3 5.29): BYTCHK 00b medium check only, 01b compare, 11b compare one block with each. */
export function verify(lu: LuState, cdb: Buffer, data: Buffer | null): ScsiCommandOut {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  const bytchk = (rw.flags >> 1) & 0x03;
  if (bytchk === 2) return INVALID_FIELD_IN_CDB;
  const bad = check(lu, false);
  if (bad !== null) return bad;
  if (rw.blocks === 0 || bytchk === 0) return GOOD;
  const bs = lu.blockSize;
  const need = bytchk === 3 ? bs : rw.blocks * bs;
  if (data === null || data.length < need) return INVALID_FIELD_IN_CDB;
  const base = rw.lba * bs;
  if (bytchk === 1) {
    const diff = firstDifference(lu.backend.read(base, need), data.subarray(0, need));
    return diff === -1 ? GOOD : miscompare(diff);
  }
  const pattern = data.subarray(0, bs);
  for (let i = 0; i < rw.blocks; i++) {
    const diff = firstDifference(lu.backend.read(base + i * bs, bs), pattern);
    if (diff !== -1) return miscompare(i * bs + diff);
  }
  return GOOD;
}

/** PRE-FETCH(10/16) (SBC-3 5.9): everything is already "in cache"; range-checked, then GOOD. */
export function prefetch(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  if (!inRange(lu, rw.lba, rw.blocks)) return LBA_OUT_OF_RANGE;
  return GOOD;
}

/** SYNCHRONIZE CACHE(10/16) (SBC-3 5.22): range-checked, then the backend is flushed. */
export function synchronizeCache(lu: LuState, cdb: Buffer): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  if (!inRange(lu, rw.lba, rw.blocks)) return LBA_OUT_OF_RANGE;
  return lu.backend.flush().then(
    () => GOOD,
    () => WRITE_ERROR,
  );
}

/** ORWRITE(16) (SBC-3 5.10): medium = medium OR data-out. */
export function orWrite(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  const bad = check(lu, true);
  if (bad !== null) return bad;
  if (rw.blocks === 0) return GOOD;
  const length = rw.blocks * lu.blockSize;
  if (data === null || data.length < length) return INVALID_FIELD_IN_CDB;
  const flags = rw.flags;
  const offset = rw.lba * lu.blockSize;
  const current = lu.backend.read(offset, length);
  const merged = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) merged[i] = current[i]! | data[i]!;
  return store(lu, offset, merged, flags);
}

/**
 * COMPARE AND WRITE (SBC-3 5.2): data-out holds n verify blocks then n write blocks. Runs
 * synchronously, so no other command can interleave between the compare and the write.
 */
export function compareAndWrite(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (!decode(cdb)) return INVALID_FIELD_IN_CDB;
  const bad = check(lu, true);
  if (bad !== null) return bad;
  const length = rw.blocks * lu.blockSize;
  const sent = data === null ? 0 : data.length;
  // data-out must be exactly the n verify + n write blocks (n = 0 with data is an error too)
  if (sent !== 2 * length || rw.blocks > lu.maxCompareAndWriteBlocks) return INVALID_FIELD_IN_CDB;
  if (rw.blocks === 0) return GOOD;
  const flags = rw.flags;
  const offset = rw.lba * lu.blockSize;
  const diff = firstDifference(lu.backend.read(offset, length), data!.subarray(0, length));
  if (diff !== -1) return miscompare(diff);
  return store(lu, offset, data!.subarray(length, 2 * length), flags);
}
