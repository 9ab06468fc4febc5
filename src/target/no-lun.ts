import type { LuContext, ScsiCommandIn, ScsiCommandOut } from "./logical-unit.js";
import { inquiryWithoutLun } from "./scsi-inquiry.js";
import { LU_NOT_SUPPORTED } from "./scsi-result.js";
import { reportLuns, requestSense } from "./scsi-unit.js";

/**
 * Commands addressed to a LUN without a logical unit (SPC-4 6.6.2, 6.39):
 * REPORT LUNS as usual, INQUIRY with peripheral qualifier 3, REQUEST SENSE returning
 * LOGICAL UNIT NOT SUPPORTED as data; the rest CHECK CONDITION ILLEGAL REQUEST, LOGICAL UNIT
 * NOT SUPPORTED (25h/00h).
 */
export function executeWithoutLun(
  cmd: ScsiCommandIn,
  ctx: LuContext,
  done: (out: ScsiCommandOut) => void,
): void {
  const cdb = cmd.cdb;
  switch (cdb[0]) {
    case 0xa0:
      done(reportLuns(ctx, cdb));
      return;
    case 0x12:
      done(inquiryWithoutLun(ctx, cdb));
      return;
    case 0x03:
      done(requestSense(cdb, 0x05, 0x25, 0x00));
      return;
    default:
      done(LU_NOT_SUPPORTED);
  }
}
