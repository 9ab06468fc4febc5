/**
 * CDB builders (SBC-3 / SPC-4). Each writes its CDB into the caller's buffer (at least 16 bytes,
 * reused from command to command), zeroes the bytes of the CDB it does not set, and returns the CDB
 * length. No allocation: READ/WRITE builders run once per I/O.
 *
 * Multi-byte fields are big-endian. An LBA is a number below 2^53; 8-byte LBA fields are written
 * as two 32-bit halves. Arguments out of a field's range throw InputError naming the field.
 */
import { InputError } from "../common/errors.js";

const TWO_32 = 0x1_0000_0000;

/** Opcodes the builders emit. */
const OP_TEST_UNIT_READY = 0x00;
const OP_REQUEST_SENSE = 0x03;
const OP_INQUIRY = 0x12;
const OP_READ_CAPACITY_10 = 0x25;
const OP_READ_10 = 0x28;
const OP_WRITE_10 = 0x2a;
const OP_SYNCHRONIZE_CACHE_10 = 0x35;
const OP_READ_16 = 0x88;
const OP_WRITE_16 = 0x8a;
const OP_SYNCHRONIZE_CACHE_16 = 0x91;
const OP_SERVICE_ACTION_IN_16 = 0x9e;
const SA_READ_CAPACITY_16 = 0x10;
const OP_REPORT_LUNS = 0xa0;

/** FUA (force unit access): byte 1 bit 3 of READ/WRITE(10)/(12)/(16). */
const FUA = 0x08;

function fail(cmd: string, field: string, value: number, limit: string): never {
  throw new InputError(`${cmd}: ${field} ${value} is out of range (${limit})`);
}

function checkCdb(cdb: Buffer, length: number, cmd: string): void {
  if (cdb.length < length) throw new InputError(`${cmd}: CDB buffer of ${cdb.length} bytes, need ${length}`);
}

function check32(cmd: string, field: string, value: number): void {
  if (!(value >= 0 && value <= 0xffff_ffff && Number.isInteger(value))) fail(cmd, field, value, "0..2^32-1");
}

function check16(cmd: string, field: string, value: number): void {
  if (!(value >= 0 && value <= 0xffff && Number.isInteger(value))) fail(cmd, field, value, "0..65535");
}

function checkLba64(cmd: string, lba: number): void {
  if (!(lba >= 0 && lba <= Number.MAX_SAFE_INTEGER && Number.isInteger(lba)))
    fail(cmd, "lba", lba, "0..2^53-1");
}

/** Writes a 0..2^53-1 integer as an 8-byte big-endian field. */
function write64(cdb: Buffer, value: number, offset: number): void {
  cdb.writeUInt32BE(Math.floor(value / TWO_32), offset);
  cdb.writeUInt32BE(value % TWO_32, offset + 4);
}

// READ(10)/WRITE(10) (SBC-3 5.11 / 5.32): opcode, byte 1 flags (DPO 0x10, FUA 0x08),
// LBA bytes 2-5, group number byte 6, TRANSFER LENGTH bytes 7-8, control byte 9.
function rw10(
  cdb: Buffer,
  op: number,
  cmd: string,
  lba: number,
  blocks: number,
  fua: boolean | undefined,
): number {
  checkCdb(cdb, 10, cmd);
  check32(cmd, "lba", lba);
  check16(cmd, "blocks", blocks);
  cdb.fill(0, 0, 10);
  cdb[0] = op;
  if (fua) cdb[1] = FUA;
  cdb.writeUInt32BE(lba, 2);
  cdb.writeUInt16BE(blocks, 7);
  return 10;
}

// READ(16)/WRITE(16) (SBC-3 5.14 / 5.35): opcode, byte 1 flags, LBA bytes 2-9,
// TRANSFER LENGTH bytes 10-13, group number byte 14, control byte 15.
function rw16(
  cdb: Buffer,
  op: number,
  cmd: string,
  lba: number,
  blocks: number,
  fua: boolean | undefined,
): number {
  checkCdb(cdb, 16, cmd);
  checkLba64(cmd, lba);
  check32(cmd, "blocks", blocks);
  cdb.fill(0, 0, 16);
  cdb[0] = op;
  if (fua) cdb[1] = FUA;
  write64(cdb, lba, 2);
  cdb.writeUInt32BE(blocks, 10);
  return 16;
}

/** True when READ/WRITE(10) can address `lba`..`lba+blocks` (LBA field 32 bits, length 16 bits). */
export function fitsRw10(lba: number, blocks: number): boolean {
  return lba < TWO_32 && blocks <= 0xffff;
}

export function buildRead10(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return rw10(cdb, OP_READ_10, "READ(10)", lba, blocks, fua);
}

export function buildWrite10(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return rw10(cdb, OP_WRITE_10, "WRITE(10)", lba, blocks, fua);
}

export function buildRead16(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return rw16(cdb, OP_READ_16, "READ(16)", lba, blocks, fua);
}

export function buildWrite16(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return rw16(cdb, OP_WRITE_16, "WRITE(16)", lba, blocks, fua);
}

/** READ(10) when the LBA fits 32 bits and blocks <= 65535, else READ(16). */
export function buildReadAuto(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return fitsRw10(lba, blocks)
    ? rw10(cdb, OP_READ_10, "READ(10)", lba, blocks, fua)
    : rw16(cdb, OP_READ_16, "READ(16)", lba, blocks, fua);
}

/** WRITE(10) when the LBA fits 32 bits and blocks <= 65535, else WRITE(16). */
export function buildWriteAuto(cdb: Buffer, lba: number, blocks: number, fua?: boolean): number {
  return fitsRw10(lba, blocks)
    ? rw10(cdb, OP_WRITE_10, "WRITE(10)", lba, blocks, fua)
    : rw16(cdb, OP_WRITE_16, "WRITE(16)", lba, blocks, fua);
}

/** TEST UNIT READY (SPC-4 6.47): six zero bytes. */
export function buildTestUnitReady(cdb: Buffer): number {
  checkCdb(cdb, 6, "TEST UNIT READY");
  cdb.fill(0, 0, 6);
  cdb[0] = OP_TEST_UNIT_READY;
  return 6;
}

/**
 * INQUIRY (SPC-4 6.6): EVPD (byte 1 bit 0) and PAGE CODE (byte 2) when `vpdPage` is given,
 * ALLOCATION LENGTH in bytes 3-4.
 */
export function buildInquiry(cdb: Buffer, allocationLength: number, vpdPage?: number): number {
  const cmd = "INQUIRY";
  checkCdb(cdb, 6, cmd);
  check16(cmd, "allocation length", allocationLength);
  if (vpdPage !== undefined && !(vpdPage >= 0 && vpdPage <= 0xff && Number.isInteger(vpdPage))) {
    fail(cmd, "VPD page", vpdPage, "0..255");
  }
  cdb.fill(0, 0, 6);
  cdb[0] = OP_INQUIRY;
  if (vpdPage !== undefined) {
    cdb[1] = 0x01;
    cdb[2] = vpdPage;
  }
  cdb.writeUInt16BE(allocationLength, 3);
  return 6;
}

/** READ CAPACITY(10) (SBC-3 5.15): opcode and nine zero bytes. */
export function buildReadCapacity10(cdb: Buffer): number {
  checkCdb(cdb, 10, "READ CAPACITY(10)");
  cdb.fill(0, 0, 10);
  cdb[0] = OP_READ_CAPACITY_10;
  return 10;
}

/**
 * READ CAPACITY(16) (SBC-3 5.16): SERVICE ACTION IN(16) 0x9e with service action 0x10,
 * ALLOCATION LENGTH in bytes 10-13 (default 32, the size of the parameter data).
 */
export function buildReadCapacity16(cdb: Buffer, allocationLength = 32): number {
  const cmd = "READ CAPACITY(16)";
  checkCdb(cdb, 16, cmd);
  check32(cmd, "allocation length", allocationLength);
  cdb.fill(0, 0, 16);
  cdb[0] = OP_SERVICE_ACTION_IN_16;
  cdb[1] = SA_READ_CAPACITY_16;
  cdb.writeUInt32BE(allocationLength, 10);
  return 16;
}

/**
 * REPORT LUNS (SPC-4 6.33): SELECT REPORT 0 (byte 2), ALLOCATION LENGTH in bytes 6-9 (SPC-4
 * requires at least 16).
 */
export function buildReportLuns(cdb: Buffer, allocationLength: number): number {
  const cmd = "REPORT LUNS";
  checkCdb(cdb, 12, cmd);
  check32(cmd, "allocation length", allocationLength);
  if (allocationLength < 16) fail(cmd, "allocation length", allocationLength, "at least 16");
  cdb.fill(0, 0, 12);
  cdb[0] = OP_REPORT_LUNS;
  cdb.writeUInt32BE(allocationLength, 6);
  return 12;
}

/**
 * SYNCHRONIZE CACHE(10) (SBC-3 5.22): LBA bytes 2-5, NUMBER OF LOGICAL BLOCKS bytes 7-8;
 * 0 blocks (the default) means from `lba` to the end of the medium.
 */
export function buildSynchronizeCache10(cdb: Buffer, lba = 0, blocks = 0): number {
  const cmd = "SYNCHRONIZE CACHE(10)";
  checkCdb(cdb, 10, cmd);
  check32(cmd, "lba", lba);
  check16(cmd, "blocks", blocks);
  cdb.fill(0, 0, 10);
  cdb[0] = OP_SYNCHRONIZE_CACHE_10;
  cdb.writeUInt32BE(lba, 2);
  cdb.writeUInt16BE(blocks, 7);
  return 10;
}

/** SYNCHRONIZE CACHE(16) (SBC-3 5.23): LBA bytes 2-9, NUMBER OF LOGICAL BLOCKS bytes 10-13. */
export function buildSynchronizeCache16(cdb: Buffer, lba = 0, blocks = 0): number {
  const cmd = "SYNCHRONIZE CACHE(16)";
  checkCdb(cdb, 16, cmd);
  checkLba64(cmd, lba);
  check32(cmd, "blocks", blocks);
  cdb.fill(0, 0, 16);
  cdb[0] = OP_SYNCHRONIZE_CACHE_16;
  write64(cdb, lba, 2);
  cdb.writeUInt32BE(blocks, 10);
  return 16;
}

/**
 * REQUEST SENSE (SPC-4 6.39): DESC (byte 1 bit 0) asks for descriptor-format sense,
 * ALLOCATION LENGTH in byte 4 (0..255).
 */
export function buildRequestSense(cdb: Buffer, allocationLength: number, descriptor = false): number {
  const cmd = "REQUEST SENSE";
  checkCdb(cdb, 6, cmd);
  if (!(allocationLength >= 0 && allocationLength <= 0xff && Number.isInteger(allocationLength))) {
    fail(cmd, "allocation length", allocationLength, "0..255");
  }
  cdb.fill(0, 0, 6);
  cdb[0] = OP_REQUEST_SENSE;
  if (descriptor) cdb[1] = 0x01;
  cdb[4] = allocationLength;
  return 6;
}
