import { createFileBackend } from "./backend-file.js";
import { createMemoryBackend } from "./backend-memory.js";
import { createLuState, type LuState } from "./lu-state.js";
import type { LunBackend } from "./lun-backend.js";
import type { LunSpec } from "./options.js";
import { readCapacity10, readCapacity16 } from "./scsi-capacity.js";
import { inquiry } from "./scsi-inquiry.js";
import { modeSelect, modeSense } from "./scsi-mode.js";
import { reportSupportedOpcodes } from "./scsi-opcodes.js";
import { getLbaStatus, unmap, writeSame } from "./scsi-provisioning.js";
import {
  persistentReserveIn,
  persistentReserveOut,
  release6,
  releaseNexus,
  reservationConflict,
  reserve6,
} from "./scsi-reservations.js";
import { GOOD, INVALID_OPCODE, RESERVATION_CONFLICT, unitAttentionResult } from "./scsi-result.js";
import { compareAndWrite, orWrite, prefetch, read, synchronizeCache, verify, write } from "./scsi-rw.js";
import { preventAllow, reportLuns, requestSense, startStopUnit } from "./scsi-unit.js";

export { executeWithoutLun } from "./no-lun.js";

/** An I_T nexus: one session of one initiator port with this target port. */
export interface Nexus {
  id: string;
  initiatorName: string;
  isid: number;
  tpgt: number;
  targetName: string;
}
export interface ScsiCommandIn {
  cdb: Buffer;
  dataOut: Buffer | null;
  expectedDataInLength: number;
  nexus: Nexus;
}
/** dataIn may be a view of the backing store; the core truncates to expectedDataInLength and reports residuals. */
export interface ScsiCommandOut {
  status: number;
  sense: Buffer | null;
  dataIn: Buffer | null;
}
export interface LogicalUnit {
  readonly lun: number;
  readonly blockSize: number;
  readonly blocks: number;
  /** What backs it, for the target's log: "memory LUN 1 GiB (tmpfs)", "file LUN /path (1 GiB)". */
  readonly description: string;
  execute(cmd: ScsiCommandIn, done: (out: ScsiCommandOut) => void): void;
  /** TMF response code (LU reset etc.). */
  taskManagement(fn: number, nexus: Nexus): number;
  /** Session ended (reservations of RESERVE(6) released, its unit attentions forgotten). */
  nexusGone(nexus: Nexus): void;
  /** Queues a unit attention (sense key 6, `asc`/`ascq`) for `nexus` (SAM-5 5.14). */
  unitAttention(nexus: Nexus, asc: number, ascq: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
export interface LuContext {
  targetName: string;
  lunList: () => number[];
  blockSize: 512 | 4096;
}

type Result = ScsiCommandOut | Promise<ScsiCommandOut>;

/** Runs one command against the LU state: reservation check, then dispatch by opcode. */
export function dispatch(lu: LuState, cmd: ScsiCommandIn): Result {
  const cdb = cmd.cdb;
  const op = cdb[0]!;
  if (lu.unitAttentions.size > 0) {
    const ua = takeUnitAttention(lu, cmd.nexus, cdb);
    if (ua !== null) return ua;
  }
  if (reservationConflict(lu, cdb, cmd.nexus)) return RESERVATION_CONFLICT;
  switch (op) {
    case 0x28:
    case 0x88:
    case 0x08:
    case 0xa8:
      return read(lu, cdb);
    case 0x2a:
    case 0x8a:
    case 0x0a:
    case 0xaa:
    case 0x2e:
    case 0xae:
    case 0x8e:
      return write(lu, cdb, cmd.dataOut);
    case 0x00: // TEST UNIT READY
      return GOOD;
    case 0x03:
      return requestSense(cdb);
    case 0x12:
      return inquiry(lu, cdb);
    case 0x15:
    case 0x55:
      return modeSelect(lu, cdb, cmd.dataOut);
    case 0x16:
      return reserve6(lu, cdb, cmd.nexus);
    case 0x17:
      return release6(lu, cdb, cmd.nexus);
    case 0x1a:
    case 0x5a:
      return modeSense(lu, cdb);
    case 0x1b:
      return startStopUnit(lu, cdb);
    case 0x1e:
      return preventAllow(lu, cdb, cmd.nexus);
    case 0x25:
      return readCapacity10(lu, cdb);
    case 0x2f:
    case 0xaf:
    case 0x8f:
      return verify(lu, cdb, cmd.dataOut);
    case 0x34:
    case 0x90:
      return prefetch(lu, cdb);
    case 0x35:
    case 0x91:
      return synchronizeCache(lu, cdb);
    case 0x41:
    case 0x93:
      return writeSame(lu, cdb, cmd.dataOut);
    case 0x42:
      return unmap(lu, cdb, cmd.dataOut);
    case 0x5e:
      return persistentReserveIn(lu, cdb);
    case 0x5f:
      return persistentReserveOut(lu, cdb, cmd.dataOut, cmd.nexus);
    case 0x89:
      return compareAndWrite(lu, cdb, cmd.dataOut);
    case 0x8b:
      return orWrite(lu, cdb, cmd.dataOut);
    case 0x9e: {
      const sa = cdb.length > 1 ? cdb[1]! & 0x1f : -1;
      if (sa === 0x10) return readCapacity16(lu, cdb);
      if (sa === 0x12) return getLbaStatus(lu, cdb);
      return INVALID_OPCODE;
    }
    case 0xa0:
      return reportLuns(lu.ctx, cdb);
    case 0xa3:
      if (cdb.length > 1 && (cdb[1]! & 0x1f) === 0x0c) return reportSupportedOpcodes(cdb);
      return INVALID_OPCODE;
    default:
      return INVALID_OPCODE;
  }
}

/**
 * A pending unit attention of `nexus` for this command, taken off its queue, or null. INQUIRY and
 * REPORT LUNS are answered as usual and leave it pending; REQUEST SENSE returns it as sense data
 * (SAM-5 5.14, SPC-4 6.39).
 */
function takeUnitAttention(lu: LuState, nexus: Nexus, cdb: Buffer): ScsiCommandOut | null {
  const op = cdb[0]!;
  if (op === 0x12 || op === 0xa0 || (op === 0x03 && cdb.length < 6)) return null;
  const queue = lu.unitAttentions.get(nexus.id);
  if (queue === undefined) return null;
  const code = queue.shift()!;
  if (queue.length === 0) lu.unitAttentions.delete(nexus.id);
  return unitAttentionResult(op === 0x03 ? cdb[4]! : -1, code >> 8, code & 0xff);
}

function openBackend(spec: LunSpec, blockSize: number): { backend: LunBackend; description: string } {
  if (spec.kind === "memory") {
    const backend = createMemoryBackend(spec.sizeBytes, blockSize);
    return { backend, description: backend.description };
  }
  const backend = createFileBackend(spec.path, spec.sizeBytes, spec.readOnly === true);
  return { backend, description: `file LUN ${spec.path} (${backend.sizeBytes} bytes)` };
}

/** TMF function codes (RFC 7143 11.5.1) that reset an LU's RESERVE(6) state. */
const TMF_LOGICAL_UNIT_RESET = 5;
const TMF_TARGET_WARM_RESET = 6;
const TMF_TARGET_COLD_RESET = 7;
const TMF_COMPLETE = 0;
const TMF_NOT_SUPPORTED = 5;

export async function createLogicalUnit(lun: number, spec: LunSpec, ctx: LuContext): Promise<LogicalUnit> {
  const { backend, description } = openBackend(spec, ctx.blockSize);
  const lu = createLuState(lun, backend, ctx, spec.readOnly === true);
  let closed: Promise<void> | null = null;
  return {
    lun,
    blockSize: lu.blockSize,
    blocks: lu.blocks,
    description,
    execute(cmd, done) {
      const r = dispatch(lu, cmd);
      if (r instanceof Promise) r.then(done);
      else done(r);
    },
    taskManagement(fn, _nexus) {
      if (fn === TMF_LOGICAL_UNIT_RESET || fn === TMF_TARGET_WARM_RESET || fn === TMF_TARGET_COLD_RESET) {
        lu.reserve6 = null; // SPC-2 5.5.3: resets release RESERVE(6); persistent reservations stay
        lu.prevent.clear();
        return TMF_COMPLETE;
      }
      return fn >= 1 && fn <= 4 ? TMF_COMPLETE : TMF_NOT_SUPPORTED;
    },
    nexusGone(nexus) {
      releaseNexus(lu, nexus);
      lu.unitAttentions.delete(nexus.id);
    },
    unitAttention(nexus, asc, ascq) {
      const code = ((asc & 0xff) << 8) | (ascq & 0xff);
      const queue = lu.unitAttentions.get(nexus.id);
      if (queue === undefined) lu.unitAttentions.set(nexus.id, [code]);
      else if (!queue.includes(code) && queue.length < 16) queue.push(code);
    },
    flush: () => backend.flush(),
    close() {
      closed ??= backend.close();
      return closed;
    },
  };
}
