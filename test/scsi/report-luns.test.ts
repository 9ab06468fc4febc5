import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import { buildReportLunsData, parseReportLuns, reportLunsLength } from "../../src/scsi/report-luns.js";

/** Hand-written hex; whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

const THREE_LUNS = hex(
  "00 00 00 18 00 00 00 00 | 00 00 00 00 00 00 00 00 | 00 01 00 00 00 00 00 00 | 41 2c 00 00 00 00 00 00",
);

describe("parseReportLuns (SPC-4 6.33.2)", () => {
  it("peripheral (0..255) and flat space (256..16383) addressing", () => {
    expect(parseReportLuns(THREE_LUNS)).toEqual([0, 1, 300]);
    expect(parseReportLuns(hex("00 00 00 08 00 00 00 00 | 7f ff 00 00 00 00 00 00"))).toEqual([16383]);
    expect(parseReportLuns(hex("00 00 00 08 00 00 00 00 | 00 ff 00 00 00 00 00 00"))).toEqual([255]);
  });
  it("an empty list", () => {
    expect(parseReportLuns(hex("00 00 00 00 00 00 00 00"))).toEqual([]);
  });
  it("a list cut short by the allocation length throws; reportLunsLength tells the size to ask", () => {
    const cut = THREE_LUNS.subarray(0, 16);
    expect(() => parseReportLuns(cut)).toThrow(ProtocolError);
    expect(() => parseReportLuns(cut)).toThrow(
      "REPORT LUNS data: truncated at LUN list (LUN LIST LENGTH 24; need 32 bytes, have 16)",
    );
    expect(reportLunsLength(cut)).toBe(32);
    expect(() => reportLunsLength(hex("00 00"))).toThrow(/LUN LIST LENGTH/);
  });
  it("rejects a list length not a multiple of 8 and unsupported LUN formats", () => {
    expect(() => parseReportLuns(hex("00 00 00 04 00 00 00 00 00 00 00 00"))).toThrow(/not a multiple of 8/);
    expect(() => parseReportLuns(hex("00 00 00 08 00 00 00 00 | c1 01 00 00 00 00 00 00"))).toThrow(
      /LUN entry 0 \(c101000000000000\) uses an unsupported addressing method/,
    );
    expect(() => parseReportLuns(hex("00 00 00 08 00 00 00 00 | 00 01 00 02 00 00 00 00"))).toThrow(
      /not a single-level LUN/,
    );
  });
});

describe("buildReportLunsData", () => {
  it("writes the list length and each LUN in SAM-5 format", () => {
    expect(buildReportLunsData([0, 1, 300])).toEqual(THREE_LUNS);
    expect(buildReportLunsData([])).toEqual(hex("00 00 00 00 00 00 00 00"));
    expect(buildReportLunsData([255, 256])).toEqual(
      hex("00 00 00 10 00 00 00 00 | 00 ff 00 00 00 00 00 00 | 41 00 00 00 00 00 00 00"),
    );
  });
  it("rejects a LUN outside 0..16383", () => {
    expect(() => buildReportLunsData([16384])).toThrow(InputError);
    expect(() => buildReportLunsData([-1])).toThrow(/LUN -1/);
  });
});
