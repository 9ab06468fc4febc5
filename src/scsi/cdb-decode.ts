/**
 * CDB decoding for the target: opcode constants, CDB lengths, and the LBA / transfer length of
 * every block-addressed command (SBC-3 / SBC-4 command layouts).
 */

/** Operation codes (SPC-4 / SBC-3), by name. */
export const ScsiOp = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  FORMAT_UNIT: 0x04,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  RESERVE_6: 0x16,
  RELEASE_6: 0x17,
  MODE_SENSE_6: 0x1a,
  START_STOP_UNIT: 0x1b,
  RECEIVE_DIAGNOSTIC_RESULTS: 0x1c,
  SEND_DIAGNOSTIC: 0x1d,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY_10: 0x25,
  READ_10: 0x28,
  WRITE_10: 0x2a,
  WRITE_AND_VERIFY_10: 0x2e,
  VERIFY_10: 0x2f,
  PRE_FETCH_10: 0x34,
  SYNCHRONIZE_CACHE_10: 0x35,
  WRITE_BUFFER: 0x3b,
  READ_BUFFER: 0x3c,
  WRITE_SAME_10: 0x41,
  UNMAP: 0x42,
  LOG_SELECT: 0x4c,
  LOG_SENSE: 0x4d,
  MODE_SELECT_10: 0x55,
  RESERVE_10: 0x56,
  RELEASE_10: 0x57,
  MODE_SENSE_10: 0x5a,
  PERSISTENT_RESERVE_IN: 0x5e,
  PERSISTENT_RESERVE_OUT: 0x5f,
  EXTENDED_COPY: 0x83,
  RECEIVE_COPY_RESULTS: 0x84,
  READ_16: 0x88,
  COMPARE_AND_WRITE: 0x89,
  WRITE_16: 0x8a,
  ORWRITE_16: 0x8b,
  WRITE_AND_VERIFY_16: 0x8e,
  VERIFY_16: 0x8f,
  PRE_FETCH_16: 0x90,
  SYNCHRONIZE_CACHE_16: 0x91,
  WRITE_SAME_16: 0x93,
  SERVICE_ACTION_IN_16: 0x9e,
  SERVICE_ACTION_OUT_16: 0x9f,
  REPORT_LUNS: 0xa0,
  MAINTENANCE_IN: 0xa3,
  MAINTENANCE_OUT: 0xa4,
  READ_12: 0xa8,
  WRITE_12: 0xaa,
  WRITE_AND_VERIFY_12: 0xae,
  VERIFY_12: 0xaf,
} as const;

/** Service actions (byte 1 bits 4-0) of SERVICE ACTION IN(16) 0x9e and MAINTENANCE IN 0xa3. */
export const ServiceAction = {
  /** SERVICE ACTION IN(16) */
  READ_CAPACITY_16: 0x10,
  GET_LBA_STATUS: 0x12,
  /** MAINTENANCE IN */
  REPORT_TARGET_PORT_GROUPS: 0x0a,
  REPORT_SUPPORTED_OPERATION_CODES: 0x0c,
  REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS: 0x0d,
} as const;

/** PERSISTENT RESERVE IN service actions (SPC-4 6.15). */
export const PrInAction = {
  READ_KEYS: 0x00,
  READ_RESERVATION: 0x01,
  REPORT_CAPABILITIES: 0x02,
  READ_FULL_STATUS: 0x03,
} as const;

/** PERSISTENT RESERVE OUT service actions (SPC-4 6.16). */
export const PrOutAction = {
  REGISTER: 0x00,
  RESERVE: 0x01,
  RELEASE: 0x02,
  CLEAR: 0x03,
  PREEMPT: 0x04,
  PREEMPT_AND_ABORT: 0x05,
  REGISTER_AND_IGNORE_EXISTING_KEY: 0x06,
  REGISTER_AND_MOVE: 0x07,
} as const;

const OP_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ScsiOp).map(([name, op]) => [op, name.replace(/_(\d+)$/, "($1)").replaceAll("_", " ")]),
);

/** "READ(10)", "WRITE SAME(16)", ...; "OPCODE 0xNN" for one not in ScsiOp. */
export function opcodeName(opcode: number): string {
  return OP_NAMES.get(opcode) ?? "OPCODE 0x" + (opcode & 0xff).toString(16).padStart(2, "0");
}

/**
 * The CDB length implied by the GROUP CODE (opcode bits 7-5, SPC-4 4.2.5.1): 6 for group 0,
 * 10 for groups 1 and 2, 16 for group 4, 12 for group 5; -1 for group 3 (reserved, and the
 * variable-length 0x7f whose length is in byte 7) and the vendor-specific groups 6 and 7.
 */
export function cdbLength(opcode: number): number {
  switch ((opcode >> 5) & 0x07) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return -1;
  }
}

/** The SERVICE ACTION field (byte 1 bits 4-0) of a CDB. */
export function serviceAction(cdb: Buffer): number {
  return cdb.length > 1 ? cdb[1]! & 0x1f : 0;
}

export interface RwCdb {
  opcode: number;
  lba: number;
  /** Number of logical blocks the command addresses (READ(6)/WRITE(6): 0 in the CDB means 256). */
  blocks: number;
  fua: boolean;
  dpo: boolean;
  /** True when the command writes the medium (WRITE*, WRITE AND VERIFY, ORWRITE, COMPARE AND WRITE, WRITE SAME). */
  write: boolean;
}

const TWO_32 = 0x1_0000_0000;

/**
 * Reads an 8-byte LBA. Values of 2^53 and more come back as an approximate float that is still
 * >= 2^53, so a range check against the capacity of any real LU rejects them correctly.
 */
function read64(cdb: Buffer, offset: number): number {
  return cdb.readUInt32BE(offset) * TWO_32 + cdb.readUInt32BE(offset + 4);
}

// Per-opcode layout of the block commands: bits 0-2 the CDB layout, then what the command is.
const L6 = 1; // 21-bit LBA in byte 1 bits 4-0 and bytes 2-3, TRANSFER LENGTH byte 4 (0 = 256)
const L10 = 2; // LBA bytes 2-5, length bytes 7-8
const L12 = 3; // LBA bytes 2-5, length bytes 6-9
const L16 = 4; // LBA bytes 2-9, length bytes 10-13
const LCAW = 5; // LBA bytes 2-9, NUMBER OF LOGICAL BLOCKS byte 13 (COMPARE AND WRITE, SBC-3 5.2)
const LAYOUT = 0x07;
const WRITES = 0x08; // the command writes the medium
const HAS_DPO = 0x10; // byte 1 bit 4 is DPO
const HAS_FUA = 0x20; // byte 1 bit 3 is FUA

const RW_LAYOUT = new Uint8Array(256);
// READ/WRITE carry DPO and FUA; VERIFY and WRITE AND VERIFY only DPO; PRE-FETCH and WRITE SAME neither.
RW_LAYOUT[ScsiOp.READ_6] = L6;
RW_LAYOUT[ScsiOp.WRITE_6] = L6 | WRITES;
RW_LAYOUT[ScsiOp.READ_10] = L10 | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_10] = L10 | WRITES | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_AND_VERIFY_10] = L10 | WRITES | HAS_DPO;
RW_LAYOUT[ScsiOp.VERIFY_10] = L10 | HAS_DPO;
RW_LAYOUT[ScsiOp.PRE_FETCH_10] = L10;
RW_LAYOUT[ScsiOp.WRITE_SAME_10] = L10 | WRITES;
RW_LAYOUT[ScsiOp.READ_12] = L12 | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_12] = L12 | WRITES | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_AND_VERIFY_12] = L12 | WRITES | HAS_DPO;
RW_LAYOUT[ScsiOp.VERIFY_12] = L12 | HAS_DPO;
RW_LAYOUT[ScsiOp.READ_16] = L16 | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_16] = L16 | WRITES | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.ORWRITE_16] = L16 | WRITES | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.WRITE_AND_VERIFY_16] = L16 | WRITES | HAS_DPO;
RW_LAYOUT[ScsiOp.VERIFY_16] = L16 | HAS_DPO;
RW_LAYOUT[ScsiOp.PRE_FETCH_16] = L16;
RW_LAYOUT[ScsiOp.WRITE_SAME_16] = L16 | WRITES;
RW_LAYOUT[ScsiOp.COMPARE_AND_WRITE] = LCAW | WRITES | HAS_DPO | HAS_FUA;
RW_LAYOUT[ScsiOp.SYNCHRONIZE_CACHE_10] = L10; // LBA and NUMBER OF LOGICAL BLOCKS
RW_LAYOUT[ScsiOp.SYNCHRONIZE_CACHE_16] = L16;

const LAYOUT_LENGTH = [0, 6, 10, 12, 16, 16];

/**
 * Allocation-free form of decodeRwCdb: fills `out` and returns true for a block command, returns
 * false (leaving `out` untouched) for any other opcode or for a CDB shorter than its layout.
 */
export function decodeRwCdbInto(cdb: Buffer, out: RwCdb): boolean {
  if (cdb.length < 6) return false;
  const op = cdb[0]!;
  const info = RW_LAYOUT[op]!;
  const layout = info & LAYOUT;
  if (layout === 0 || cdb.length < LAYOUT_LENGTH[layout]!) return false;
  const b1 = cdb[1]!;
  switch (layout) {
    case L6:
      out.lba = ((b1 & 0x1f) << 16) | cdb.readUInt16BE(2);
      out.blocks = cdb[4] === 0 ? 256 : cdb[4]!;
      break;
    case L10:
      out.lba = cdb.readUInt32BE(2);
      out.blocks = cdb.readUInt16BE(7);
      break;
    case L12:
      out.lba = cdb.readUInt32BE(2);
      out.blocks = cdb.readUInt32BE(6);
      break;
    case L16:
      out.lba = read64(cdb, 2);
      out.blocks = cdb.readUInt32BE(10);
      break;
    default: // LCAW
      out.lba = read64(cdb, 2);
      out.blocks = cdb[13]!;
      break;
  }
  out.opcode = op;
  out.write = (info & WRITES) !== 0;
  out.dpo = (info & HAS_DPO) !== 0 && (b1 & 0x10) !== 0;
  out.fua = (info & HAS_FUA) !== 0 && (b1 & 0x08) !== 0;
  return true;
}

/**
 * LBA and block count of READ/WRITE 6/10/12/16, WRITE AND VERIFY 10/12/16, VERIFY 10/12/16,
 * PRE-FETCH 10/16, ORWRITE(16), COMPARE AND WRITE, WRITE SAME 10/16, SYNCHRONIZE CACHE 10/16;
 * null for any other CDB.
 * `fua`/`dpo` are the CDB bits where the command defines them (false elsewhere). Counts are as in
 * the CDB (0 means no blocks, except READ(6)/WRITE(6) where 0 means 256, and WRITE SAME where the
 * device server may treat 0 as "to the last LBA").
 */
export function decodeRwCdb(cdb: Buffer): RwCdb | null {
  const out: RwCdb = { opcode: 0, lba: 0, blocks: 0, fua: false, dpo: false, write: false };
  return decodeRwCdbInto(cdb, out) ? out : null;
}

/** BYTCHK (byte 1 bits 2-1) of VERIFY and WRITE AND VERIFY: 0 medium check only, 1 compare, 3 compare with one block. */
export function byteCheck(cdb: Buffer): number {
  return cdb.length > 1 ? (cdb[1]! >> 1) & 0x03 : 0;
}

/** The UNMAP (byte 1 bit 3), ANCHOR (bit 4) and NDOB (bit 0, WRITE SAME(16) only) bits of WRITE SAME. */
export function writeSameFlags(cdb: Buffer): { unmap: boolean; anchor: boolean; ndob: boolean } {
  const b1 = cdb.length > 1 ? cdb[1]! : 0;
  return {
    unmap: (b1 & 0x08) !== 0,
    anchor: (b1 & 0x10) !== 0,
    ndob: cdb[0] === ScsiOp.WRITE_SAME_16 && (b1 & 0x01) !== 0,
  };
}
