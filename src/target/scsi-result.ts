import { buildFixedSense, SenseKey } from "../scsi/sense.js";
import { ScsiStatus } from "../scsi/status.js";
import type { ScsiCommandOut } from "./logical-unit.js";

/**
 * Ready-made command outcomes. The sense buffers are built once and shared: the core copies
 * them into the SCSI Response PDU and must not modify them.
 */

/** GOOD without data (shared; never modified). */
export const GOOD: ScsiCommandOut = { status: ScsiStatus.GOOD, sense: null, dataIn: null };

export const RESERVATION_CONFLICT: ScsiCommandOut = {
  status: ScsiStatus.RESERVATION_CONFLICT,
  sense: null,
  dataIn: null,
};

export function good(dataIn: Buffer | null): ScsiCommandOut {
  return { status: ScsiStatus.GOOD, sense: null, dataIn };
}

/** GOOD with `data` cut to the CDB's allocation length. */
export function goodAlloc(data: Buffer, allocationLength: number): ScsiCommandOut {
  return good(data.length > allocationLength ? data.subarray(0, allocationLength) : data);
}

export function checkCondition(sense: Buffer): ScsiCommandOut {
  return { status: ScsiStatus.CHECK_CONDITION, sense, dataIn: null };
}

function fixed(key: number, asc: number, ascq: number): ScsiCommandOut {
  return checkCondition(buildFixedSense(key, asc, ascq));
}

/** ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20h/00h). */
export const INVALID_OPCODE = fixed(SenseKey.ILLEGAL_REQUEST, 0x20, 0x00);
/** ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h). */
export const LBA_OUT_OF_RANGE = fixed(SenseKey.ILLEGAL_REQUEST, 0x21, 0x00);
/** ILLEGAL REQUEST, INVALID FIELD IN CDB (24h/00h). */
export const INVALID_FIELD_IN_CDB = fixed(SenseKey.ILLEGAL_REQUEST, 0x24, 0x00);
/** ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h). */
export const LU_NOT_SUPPORTED = fixed(SenseKey.ILLEGAL_REQUEST, 0x25, 0x00);
/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST (26h/00h). */
export const INVALID_FIELD_IN_PARAMETER_LIST = fixed(SenseKey.ILLEGAL_REQUEST, 0x26, 0x00);
/** ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION (26h/04h). */
export const INVALID_RELEASE_OF_PR = fixed(SenseKey.ILLEGAL_REQUEST, 0x26, 0x04);
/** ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR (1Ah/00h). */
export const PARAMETER_LIST_LENGTH_ERROR = fixed(SenseKey.ILLEGAL_REQUEST, 0x1a, 0x00);
/** ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (39h/00h). */
export const SAVING_NOT_SUPPORTED = fixed(SenseKey.ILLEGAL_REQUEST, 0x39, 0x00);
/** DATA PROTECT, WRITE PROTECTED (27h/00h). */
export const WRITE_PROTECTED = fixed(SenseKey.DATA_PROTECT, 0x27, 0x00);
/**
 * DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (27h/07h): a thin-provisioned LU could not
 * get room for a write (SBC-4, thin provisioning resource exhaustion), e.g. a memory LUN's tmpfs is full.
 */
export const SPACE_ALLOCATION_FAILED = fixed(SenseKey.DATA_PROTECT, 0x27, 0x07);
/** MEDIUM ERROR, WRITE ERROR (0Ch/00h): the backend failed a write or flush. */
export const WRITE_ERROR = fixed(SenseKey.MEDIUM_ERROR, 0x0c, 0x00);
/** MEDIUM ERROR, UNRECOVERED READ ERROR (11h/00h). */
export const READ_ERROR = fixed(SenseKey.MEDIUM_ERROR, 0x11, 0x00);

/** MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION (1Dh/00h); INFORMATION = byte offset of the first difference. */
export function miscompare(offset: number): ScsiCommandOut {
  return checkCondition(buildFixedSense(SenseKey.MISCOMPARE, 0x1d, 0x00, offset));
}

/** Offset of the first differing byte of a and b (same length), or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * A unit attention (sense key UNIT ATTENTION, `asc`/`ascq`): CHECK CONDITION with that sense, or for
 * REQUEST SENSE GOOD with the sense as data, cut to the allocation length `asData` (SPC-4 6.39; -1:
 * not REQUEST SENSE).
 */
export function unitAttentionResult(asData: number, asc: number, ascq: number): ScsiCommandOut {
  const sense = buildFixedSense(SenseKey.UNIT_ATTENTION, asc, ascq);
  return asData >= 0 ? goodAlloc(sense, asData) : checkCondition(sense);
}
