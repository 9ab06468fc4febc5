import { createHash } from "node:crypto";
import type { LuContext } from "./logical-unit.js";
import type { LunBackend } from "./lun-backend.js";

/** One registration of PERSISTENT RESERVE OUT REGISTER: the I_T nexus and its key. */
export interface PrRegistration {
  nexusId: string;
  initiatorName: string;
  isid: number;
  tpgt: number;
  key: bigint;
}

/** Persistent reservation state of one LU (SPC-4 5.13). */
export interface PrState {
  generation: number;
  /** By nexus id, in registration order. */
  registrations: Map<string, PrRegistration>;
  /** The reservation: holder is a nexus id (null for the all-registrants types), type 1..8. */
  reservation: { holder: string | null; type: number } | null;
}

/** The mutable state of one logical unit, shared by the command files. */
export interface LuState {
  readonly lun: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly backend: LunBackend;
  readonly ctx: LuContext;
  /** Read-only by configuration. */
  readonly readOnly: boolean;
  /** Software write protect (CONTROL mode page SWP, set by MODE SELECT). */
  swp: boolean;
  /** Write cache enable (CACHING mode page WCE); when clear, writes are flushed before GOOD. */
  wce: boolean;
  /** Unit serial number (VPD 0x80): stable per target name + LUN. */
  readonly serial: string;
  /** 16-byte NAA IEEE Registered Extended designator (VPD 0x83). */
  readonly naa: Buffer;
  /** Nexus id holding a RESERVE(6) reservation. */
  reserve6: string | null;
  readonly pr: PrState;
  /**
   * Pending unit attentions by nexus id: (ASC << 8) | ASCQ, the oldest first (SAM-5 5.14: one
   * queue per I_T nexus; reported with the next command other than INQUIRY, REPORT LUNS, REQUEST SENSE).
   */
  readonly unitAttentions: Map<string, number[]>;
  /** Nexus ids that sent PREVENT ALLOW MEDIUM REMOVAL with PREVENT set. */
  readonly prevent: Set<string>;
  /** Largest transfer in blocks (Block Limits VPD MAXIMUM TRANSFER LENGTH). */
  readonly maxTransferBlocks: number;
  readonly maxUnmapBlocks: number;
  readonly maxUnmapDescriptors: number;
  readonly maxWriteSameBlocks: number;
  readonly maxCompareAndWriteBlocks: number;
}

export const VENDOR = "ISCSIBEN"; // 8 characters (T10 vendor identification field)
export const PRODUCT = "iscsi-bench LUN "; // 16 characters
export const REVISION = "0001"; // 4 characters

const MAX_TRANSFER_BYTES = 32 * 1024 * 1024;

export function isWriteProtected(lu: LuState): boolean {
  return lu.readOnly || lu.swp;
}

function digest(ctx: LuContext, lun: number): Buffer {
  return createHash("sha256").update(`${ctx.targetName}\0${lun}`).digest();
}

export function createLuState(lun: number, backend: LunBackend, ctx: LuContext, readOnly: boolean): LuState {
  const blockSize = ctx.blockSize;
  const blocks = Math.floor(backend.sizeBytes / blockSize);
  const hash = digest(ctx, lun);
  const naa = Buffer.from(hash.subarray(0, 16));
  naa[0] = 0x60 | (naa[0]! & 0x0f); // NAA 6: IEEE Registered Extended
  const memory = backend.kind === "memory";
  return {
    lun,
    blockSize,
    blocks,
    backend,
    ctx,
    readOnly,
    swp: false,
    wce: true,
    serial: hash.subarray(16, 24).toString("hex"),
    naa,
    reserve6: null,
    pr: { generation: 0, registrations: new Map(), reservation: null },
    unitAttentions: new Map(),
    prevent: new Set(),
    maxTransferBlocks: MAX_TRANSFER_BYTES / blockSize,
    maxUnmapBlocks: memory ? 0x100000 : 0x10000,
    maxUnmapDescriptors: 4096,
    maxWriteSameBlocks: Math.max(1, Math.min(blocks, memory ? 0x400000 : 0x10000)),
    maxCompareAndWriteBlocks: 255,
  };
}

/** LBA in bytes 2..9 of a 16-byte CDB; -1 when it is 2^53 or more (always out of range). */
export function readLba64(cdb: Buffer, offset: number): number {
  const hi = cdb.readUInt32BE(offset);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + cdb.readUInt32BE(offset + 4);
}

/** Whether [lba, lba + blocks) lies inside the LU (lba -1 = unrepresentable = outside). */
export function inRange(lu: LuState, lba: number, blocks: number): boolean {
  return lba >= 0 && lba <= lu.blocks && blocks <= lu.blocks - lba;
}
