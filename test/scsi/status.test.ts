import { describe, expect, it } from "vitest";
import { ScsiStatus, statusName } from "../../src/scsi/status.js";

describe("SCSI status (SAM-5 5.3.1)", () => {
  it("has the SAM codes", () => {
    expect(ScsiStatus).toEqual({
      GOOD: 0,
      CHECK_CONDITION: 2,
      CONDITION_MET: 4,
      BUSY: 8,
      RESERVATION_CONFLICT: 0x18,
      TASK_SET_FULL: 0x28,
      ACA_ACTIVE: 0x30,
      TASK_ABORTED: 0x40,
    });
  });
  it("names them", () => {
    expect(statusName(0)).toBe("GOOD");
    expect(statusName(2)).toBe("CHECK CONDITION");
    expect(statusName(8)).toBe("BUSY");
    expect(statusName(0x18)).toBe("RESERVATION CONFLICT");
    expect(statusName(0x28)).toBe("TASK SET FULL");
    expect(statusName(0x30)).toBe("ACA ACTIVE");
    expect(statusName(0x40)).toBe("TASK ABORTED");
    expect(statusName(0x99)).toBe("STATUS 0x99");
  });
});
