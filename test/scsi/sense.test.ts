import { describe, expect, it } from "vitest";
import {
  Asc,
  ascText,
  buildDescriptorSense,
  buildFixedSense,
  buildFixedSenseWithField,
  formatSense,
  parseSense,
  SenseKey,
  senseKeyName,
} from "../../src/scsi/sense.js";

/** Hand-written hex ("70 00 05"); whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

describe("parseSense: fixed format (SPC-4 4.5.3)", () => {
  it("LBA out of range with a VALID information field", () => {
    const s = parseSense(hex("f0 00 05 | 00 00 10 00 | 0a | 00 00 00 00 | 21 00 | 00 00 00 00"));
    expect(s).toEqual({
      responseCode: 0x70,
      descriptor: false,
      key: 5,
      asc: 0x21,
      ascq: 0,
      information: 0x1000,
      text: "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE",
    });
  });
  it("unit attention after power on; information ignored without VALID", () => {
    const s = parseSense(hex("70 00 06 | 00 00 00 07 | 0a | 00 00 00 00 | 29 00 | 00 00 00 00"))!;
    expect(s.key).toBe(SenseKey.UNIT_ATTENTION);
    expect(s.information).toBeNull();
    expect(s.text).toBe("UNIT ATTENTION: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED");
  });
  it("deferred error (0x71) and the flag bits around the sense key", () => {
    const s = parseSense(hex("71 00 e3 | 00 00 00 00 | 0a | 00 00 00 00 | 11 00 | 00 00 00 00"))!;
    expect(s.responseCode).toBe(0x71);
    expect(s.key).toBe(SenseKey.MEDIUM_ERROR);
    expect(s.text).toBe("MEDIUM ERROR: UNRECOVERED READ ERROR");
  });
  it("ADDITIONAL SENSE LENGTH bounds the fields: 0 means no ASC/ASCQ", () => {
    const s = parseSense(hex("70 00 02 00 00 00 00 00 | 00 00 00 00 04 01"))!;
    expect([s.key, s.asc, s.ascq]).toEqual([2, 0, 0]);
    expect(s.text).toBe("NOT READY: NO ADDITIONAL SENSE INFORMATION");
  });
  it("a truncated buffer reads what is there and never throws", () => {
    const s = parseSense(hex("70 00 0b 00 00 00 00 0a 00 00 00 00 47"))!;
    expect([s.key, s.asc, s.ascq]).toEqual([0x0b, 0x47, 0]);
    expect(parseSense(hex("70 00 05"))!.key).toBe(5);
    expect(parseSense(hex("f0 00 05 00"))!.information).toBeNull();
  });
});

describe("parseSense: descriptor format (SPC-4 4.5.2)", () => {
  it("miscompare with an information descriptor (type 00)", () => {
    const s = parseSense(hex("72 0e 1d 00 00 00 00 0c | 00 0a 80 00 00 00 00 00 00 00 00 07"));
    expect(s).toEqual({
      responseCode: 0x72,
      descriptor: true,
      key: 0x0e,
      asc: 0x1d,
      ascq: 0,
      information: 7,
      text: "MISCOMPARE: MISCOMPARE DURING VERIFY OPERATION",
    });
  });
  it("finds the information descriptor after another descriptor; 8-byte values", () => {
    const s = parseSense(
      hex("73 05 24 00 00 00 00 14 | 02 06 00 00 c0 00 01 00 | 00 0a 80 00 00 00 00 01 00 00 00 02"),
    )!;
    expect(s.responseCode).toBe(0x73);
    expect(s.information).toBe(2 ** 32 + 2);
    expect(s.text).toBe("ILLEGAL REQUEST: INVALID FIELD IN CDB");
  });
  it("information descriptor without VALID gives null", () => {
    expect(
      parseSense(hex("72 05 21 00 00 00 00 0c | 00 0a 00 00 00 00 00 00 00 00 00 07"))!.information,
    ).toBeNull();
  });
  it("a descriptor running past the buffer is ignored, not read", () => {
    const s = parseSense(hex("72 05 21 00 00 00 00 0c | 00 0a 80 00 00 00"))!;
    expect(s.information).toBeNull();
    expect(s.asc).toBe(0x21);
    expect(parseSense(hex("72 06"))!.text).toBe("UNIT ATTENTION: NO ADDITIONAL SENSE INFORMATION");
  });
});

describe("parseSense: not sense data", () => {
  it("returns null", () => {
    expect(parseSense(Buffer.alloc(0))).toBeNull();
    expect(parseSense(hex("00 00 05 00"))).toBeNull();
    expect(parseSense(hex("7f 00 05 00"))).toBeNull();
    expect(parseSense(hex("70 00"))).toBeNull();
    expect(parseSense(hex("72"))).toBeNull();
  });
});

describe("names", () => {
  it("sense keys", () => {
    expect(SenseKey.NO_SENSE).toBe(0);
    expect(SenseKey.ILLEGAL_REQUEST).toBe(5);
    expect(SenseKey.ABORTED_COMMAND).toBe(0x0b);
    expect(SenseKey.MISCOMPARE).toBe(0x0e);
    expect(senseKeyName(0)).toBe("NO SENSE");
    expect(senseKeyName(7)).toBe("DATA PROTECT");
    expect(senseKeyName(0x0b)).toBe("ABORTED COMMAND");
    expect(senseKeyName(0x0e)).toBe("MISCOMPARE");
  });
  it("ASC/ASCQ texts of common SPC-4 codes", () => {
    const cases: Array<[number, number, string]> = [
      [0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION"],
      [0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE"],
      [0x04, 0x01, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY"],
      [0x1a, 0x00, "PARAMETER LIST LENGTH ERROR"],
      [0x1d, 0x00, "MISCOMPARE DURING VERIFY OPERATION"],
      [0x20, 0x00, "INVALID COMMAND OPERATION CODE"],
      [0x21, 0x00, "LOGICAL BLOCK ADDRESS OUT OF RANGE"],
      [0x24, 0x00, "INVALID FIELD IN CDB"],
      [0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED"],
      [0x26, 0x00, "INVALID FIELD IN PARAMETER LIST"],
      [0x27, 0x00, "WRITE PROTECTED"],
      [0x28, 0x00, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"],
      [0x29, 0x07, "I_T NEXUS LOSS OCCURRED"],
      [0x2a, 0x01, "MODE PARAMETERS CHANGED"],
      [0x2a, 0x03, "RESERVATIONS PREEMPTED"],
      [0x2a, 0x05, "REGISTRATIONS PREEMPTED"],
      [0x2c, 0x00, "COMMAND SEQUENCE ERROR"],
      [0x3a, 0x00, "MEDIUM NOT PRESENT"],
      [0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED"],
      [0x44, 0x00, "INTERNAL TARGET FAILURE"],
      [0x47, 0x05, "PROTOCOL SERVICE CRC ERROR"],
      [0x55, 0x03, "INSUFFICIENT RESOURCES"],
    ];
    for (const [asc, ascq, text] of cases) expect([asc, ascq, ascText(asc, ascq)]).toEqual([asc, ascq, text]);
  });
  it("variable-qualifier ranges and unknown codes", () => {
    expect(ascText(0x40, 0x81)).toBe("DIAGNOSTIC FAILURE ON COMPONENT 0x81");
    expect(ascText(0x4d, 0x2a)).toBe("TAGGED OVERLAPPED COMMANDS (TASK TAG 0x2a)");
    expect(ascText(0x80, 0x01)).toBe("ASC 0x80 ASCQ 0x01");
    expect(ascText(0x21, 0x7e)).toBe("ASC 0x21 ASCQ 0x7e");
  });
  it("formatSense adds the information field", () => {
    const s = parseSense(hex("f0 00 05 00 00 10 00 0a 00 00 00 00 21 00 00 00 00 00"))!;
    expect(formatSense(s)).toBe("ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (information 4096)");
  });
});

describe("building sense (target side)", () => {
  it("buildFixedSense: 18 bytes, 0x70, ADDITIONAL SENSE LENGTH 10", () => {
    expect(buildFixedSense(SenseKey.ILLEGAL_REQUEST, 0x24, 0x00)).toEqual(
      hex("70 00 05 | 00 00 00 00 | 0a | 00 00 00 00 | 24 00 | 00 00 00 00"),
    );
  });
  it("buildFixedSense with information sets VALID", () => {
    expect(buildFixedSense(SenseKey.MISCOMPARE, 0x1d, 0x00, 0x12345678)).toEqual(
      hex("f0 00 0e | 12 34 56 78 | 0a | 00 00 00 00 | 1d 00 | 00 00 00 00"),
    );
    expect(buildFixedSense(SenseKey.ILLEGAL_REQUEST, 0x21, 0x00, 0)).toEqual(
      hex("f0 00 05 | 00 00 00 00 | 0a | 00 00 00 00 | 21 00 | 00 00 00 00"),
    );
  });
  it("an information value above 32 bits leaves VALID clear", () => {
    expect(buildFixedSense(SenseKey.ILLEGAL_REQUEST, 0x21, 0x00, 2 ** 32)).toEqual(
      hex("70 00 05 | 00 00 00 00 | 0a | 00 00 00 00 | 21 00 | 00 00 00 00"),
    );
  });
  it("Asc constants encode ASC << 8 | ASCQ", () => {
    expect(Asc.INVALID_FIELD_IN_CDB).toBe(0x2400);
    expect(Asc.POWER_ON_RESET).toBe(0x2900);
    expect(Asc.REPORTED_LUNS_DATA_HAS_CHANGED).toBe(0x3f0e);
    expect(Asc.LBA_OUT_OF_RANGE).toBe(0x2100);
  });
  it("buildFixedSenseWithField: SKSV, C/D, BPV + bit pointer, field pointer", () => {
    expect(buildFixedSenseWithField(SenseKey.ILLEGAL_REQUEST, 0x24, 0x00, true, 1, 4)).toEqual(
      hex("70 00 05 | 00 00 00 00 | 0a | 00 00 00 00 | 24 00 | 00 cc 00 01"),
    );
    expect(buildFixedSenseWithField(SenseKey.ILLEGAL_REQUEST, 0x26, 0x00, false, 0x0102)).toEqual(
      hex("70 00 05 | 00 00 00 00 | 0a | 00 00 00 00 | 26 00 | 00 80 01 02"),
    );
  });
  it("buildDescriptorSense: 0x72 header, optional information descriptor", () => {
    expect(buildDescriptorSense(SenseKey.UNIT_ATTENTION, 0x29, 0x00)).toEqual(hex("72 06 29 00 00 00 00 00"));
    expect(buildDescriptorSense(SenseKey.MISCOMPARE, 0x1d, 0x00, 2 ** 32 + 5)).toEqual(
      hex("72 0e 1d 00 00 00 00 0c | 00 0a 80 00 00 00 00 01 00 00 00 05"),
    );
  });
});
