/**
 * SCSI status codes (SAM-5 5.3.1) as carried in the iSCSI SCSI Response and final Data-In PDUs.
 */
export const ScsiStatus = {
  GOOD: 0,
  CHECK_CONDITION: 2,
  CONDITION_MET: 4,
  BUSY: 8,
  RESERVATION_CONFLICT: 0x18,
  TASK_SET_FULL: 0x28,
  ACA_ACTIVE: 0x30,
  TASK_ABORTED: 0x40,
} as const;

export type ScsiStatusCode = (typeof ScsiStatus)[keyof typeof ScsiStatus];

const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00, "GOOD"],
  [0x02, "CHECK CONDITION"],
  [0x04, "CONDITION MET"],
  [0x08, "BUSY"],
  [0x10, "INTERMEDIATE"], // obsolete (SAM-4)
  [0x14, "INTERMEDIATE-CONDITION MET"], // obsolete (SAM-4)
  [0x18, "RESERVATION CONFLICT"],
  [0x22, "COMMAND TERMINATED"], // obsolete (SAM-2)
  [0x28, "TASK SET FULL"],
  [0x30, "ACA ACTIVE"],
  [0x40, "TASK ABORTED"],
]);

function hex2(n: number): string {
  return "0x" + (n & 0xff).toString(16).padStart(2, "0");
}

/** "GOOD", "CHECK CONDITION", ...; "STATUS 0xNN" for a code SAM does not define. */
export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? "STATUS " + hex2(status);
}
