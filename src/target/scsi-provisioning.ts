import type { ScsiCommandOut } from "./logical-unit.js";
import { inRange, isWriteProtected, type LuState, readLba64 } from "./lu-state.js";
import { isNoSpace } from "./lun-backend.js";
import {
  GOOD,
  goodAlloc,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  LBA_OUT_OF_RANGE,
  PARAMETER_LIST_LENGTH_ERROR,
  SPACE_ALLOCATION_FAILED,
  WRITE_ERROR,
  WRITE_PROTECTED,
} from "./scsi-result.js";

/** Bytes written per backend call when WRITE SAME replicates a block. */
const WRITE_SAME_PIECE = 1024 * 1024;

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function flushed(lu: LuState): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (lu.wce) return GOOD;
  return lu.backend.flush().then(
    () => GOOD,
    () => WRITE_ERROR,
  );
}

/**
 * WRITE SAME(10) (0x41) and WRITE SAME(16) (0x93), SBC-3 5.41/5.42. NUMBER OF LOGICAL BLOCKS 0
 * means "to the end of the medium" (WSNZ = 0). UNMAP set with an all-zero block (or NDOB)
 * deallocates, which reads back as zeros (LBPRZ); otherwise the block is replicated.
 */
export function writeSame(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  const sixteen = cdb[0] === 0x93;
  if (cdb.length < (sixteen ? 16 : 10)) return INVALID_FIELD_IN_CDB;
  const flags = cdb[1]!;
  const lba = sixteen ? readLba64(cdb, 2) : cdb.readUInt32BE(2);
  let blocks = sixteen ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
  const ndob = sixteen && (flags & 0x01) !== 0;
  const unmap = (flags & 0x08) !== 0;
  if ((flags & 0xe0) !== 0 || (flags & 0x10) !== 0) return INVALID_FIELD_IN_CDB; // WRPROTECT, ANCHOR
  if (!inRange(lu, lba, blocks)) return LBA_OUT_OF_RANGE;
  if (blocks === 0) blocks = lu.blocks - lba;
  if (isWriteProtected(lu)) return WRITE_PROTECTED;
  if (blocks > lu.maxWriteSameBlocks) return INVALID_FIELD_IN_CDB;
  const bs = lu.blockSize;
  if (!ndob && (data === null || data.length !== bs)) return INVALID_FIELD_IN_CDB;
  if (blocks === 0) return GOOD;
  const pattern = ndob ? null : data!.subarray(0, bs);
  const offset = lu.blockSize * lba;
  const length = blocks * bs;
  try {
    // UNMAP set: deallocate whatever the data (reads return zeros, LBPRZ). All-zero data on the
    // memory backend: deallocating is the same as writing zeros, and costs no memory.
    if (unmap || pattern === null || (isZero(pattern) && lu.backend.kind === "memory")) {
      lu.backend.unmap(offset, length);
    } else {
      writeRepeated(lu, offset, length, pattern);
    }
  } catch (err) {
    return isNoSpace(err) ? SPACE_ALLOCATION_FAILED : WRITE_ERROR;
  }
  return flushed(lu);
}

function writeRepeated(lu: LuState, offset: number, length: number, pattern: Buffer): void {
  const pieceLength = Math.min(length, WRITE_SAME_PIECE - (WRITE_SAME_PIECE % pattern.length));
  const piece = Buffer.allocUnsafe(pieceLength);
  for (let i = 0; i < pieceLength; i += pattern.length) pattern.copy(piece, i);
  let done = 0;
  while (done < length) {
    const n = Math.min(pieceLength, length - done);
    lu.backend.write(offset + done, n === pieceLength ? piece : piece.subarray(0, n));
    done += n;
  }
}

/**
 * UNMAP (0x42), SBC-3 5.28: every block descriptor is checked before any is applied.
 * A parameter list length of 0 is a no-op; 1..7 is a PARAMETER LIST LENGTH ERROR.
 */
export function unmap(
  lu: LuState,
  cdb: Buffer,
  data: Buffer | null,
): ScsiCommandOut | Promise<ScsiCommandOut> {
  if (cdb.length < 10) return INVALID_FIELD_IN_CDB;
  if ((cdb[1]! & 0x01) !== 0) return INVALID_FIELD_IN_CDB; // ANCHOR: not supported
  if (isWriteProtected(lu)) return WRITE_PROTECTED;
  const listLength = cdb.readUInt16BE(7);
  if (listLength === 0) return GOOD;
  if (listLength < 8 || data === null || data.length < listLength) return PARAMETER_LIST_LENGTH_ERROR;
  const list = data.subarray(0, listLength);
  const dataLength = list.readUInt16BE(0);
  const descLength = list.readUInt16BE(2);
  if (dataLength + 2 > listLength || descLength + 8 > listLength || descLength % 16 !== 0) {
    return PARAMETER_LIST_LENGTH_ERROR;
  }
  const count = descLength / 16;
  if (count > lu.maxUnmapDescriptors) return INVALID_FIELD_IN_PARAMETER_LIST;
  for (let i = 0; i < count; i++) {
    const at = 8 + 16 * i;
    const lba = readLba64(list, at);
    const blocks = list.readUInt32BE(at + 8);
    if (!inRange(lu, lba, blocks)) return LBA_OUT_OF_RANGE;
    if (blocks > lu.maxUnmapBlocks) return INVALID_FIELD_IN_PARAMETER_LIST;
  }
  try {
    for (let i = 0; i < count; i++) {
      const at = 8 + 16 * i;
      const blocks = list.readUInt32BE(at + 8);
      if (blocks > 0) lu.backend.unmap(readLba64(list, at) * lu.blockSize, blocks * lu.blockSize);
    }
  } catch {
    return WRITE_ERROR;
  }
  return flushed(lu);
}

/** Largest run examined for one GET LBA STATUS descriptor, so a huge LUN answers quickly. */
const MAX_EXTENT_BYTES = 1024 * 1024 * 1024;
const MAX_DESCRIPTORS = 64;

/**
 * GET LBA STATUS (SERVICE ACTION IN(16) 0x12), SBC-3 5.6: descriptors of mapped (0) and
 * deallocated (1) extents from the starting LBA, as many as the allocation length holds.
 */
export function getLbaStatus(lu: LuState, cdb: Buffer): ScsiCommandOut {
  if (cdb.length < 16) return INVALID_FIELD_IN_CDB;
  const lba = readLba64(cdb, 2);
  const alloc = cdb.readUInt32BE(10);
  if (lba < 0 || lba >= lu.blocks) return LBA_OUT_OF_RANGE;
  const room = Math.max(1, Math.min(MAX_DESCRIPTORS, Math.floor((alloc - 8) / 16)));
  const bs = lu.blockSize;
  const out = Buffer.alloc(8 + 16 * room);
  let n = 0;
  let pos = lba * bs;
  const end = lu.blocks * bs;
  while (n < room && pos < end) {
    const e = lu.backend.extent(pos, Math.min(end - pos, MAX_EXTENT_BYTES));
    const at = 8 + 16 * n;
    const startLba = pos / bs;
    out.writeUInt32BE(Math.floor(startLba / 0x100000000), at);
    out.writeUInt32BE(startLba >>> 0, at + 4);
    out.writeUInt32BE(e.length / bs, at + 8);
    out[at + 12] = e.mapped ? 0 : 1;
    n++;
    pos += e.length;
  }
  out.writeUInt32BE(4 + 16 * n, 0); // PARAMETER DATA LENGTH
  return goodAlloc(out.subarray(0, 8 + 16 * n), alloc);
}
