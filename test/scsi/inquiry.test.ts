import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/iscsi/errors.js";
import {
  associationName,
  designatorTypeName,
  deviceTypeName,
  parseBlockLimits,
  parseDeviceIdentification,
  parseLogicalBlockProvisioning,
  parseStandardInquiry,
  parseSupportedVpdPages,
  parseUnitSerial,
} from "../../src/scsi/inquiry.js";

/** Hand-written hex ("00 00 05"); whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

/** Bytes of a hand-written ASCII field. */
function ascii(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

/**
 * Standard INQUIRY data as Debian tgtd returns it for a disk LUN (SPC-4 6.6.2): direct access,
 * VERSION 5, HISUP + RESPONSE DATA FORMAT 2, ADDITIONAL LENGTH 59 (64 bytes), CMDQUE,
 * "IET     " / "VIRTUAL-DISK    " / "0001", then version descriptors (SAM-3, iSCSI, SPC-3, SBC-2).
 */
const TGTD_INQUIRY = Buffer.concat([
  hex("00 00 05 12 3b 00 00 02"),
  ascii("IET     "),
  ascii("VIRTUAL-DISK    "),
  ascii("0001"),
  hex("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), // 36..57
  hex("00 60 09 60 03 00 03 20"), // 58..65: version descriptors
]).subarray(0, 64);

describe("standard INQUIRY", () => {
  it("parses a tgtd response", () => {
    expect(TGTD_INQUIRY.length).toBe(64);
    const inq = parseStandardInquiry(TGTD_INQUIRY);
    expect(inq).toMatchObject({
      peripheralQualifier: 0,
      deviceType: 0,
      removable: false,
      version: 5,
      vendor: "IET",
      product: "VIRTUAL-DISK",
      revision: "0001",
      responseDataFormat: 2,
      additionalLength: 59,
      hiSup: true,
      tpgs: 0,
      protect: false,
      cmdQue: true,
    });
    expect(inq.raw).toEqual(TGTD_INQUIRY);
    expect(deviceTypeName(inq.deviceType)).toBe("direct access block device");
  });

  it("peripheral qualifier 3 (no LU), removable, TPGS, NUL-padded fields", () => {
    const buf = Buffer.concat([
      hex("7f 80 06 02 1f 30 00 00"),
      ascii("ACME"),
      hex("00 00 00 00"),
      ascii("  Disk X"),
      hex("00 00 00 00 00 00 00 00"),
      ascii("1.0 "),
    ]);
    const inq = parseStandardInquiry(buf);
    expect(inq.peripheralQualifier).toBe(3);
    expect(inq.deviceType).toBe(0x1f);
    expect(inq.removable).toBe(true);
    expect(inq.version).toBe(6);
    expect(inq.tpgs).toBe(3);
    expect(inq.vendor).toBe("ACME");
    expect(inq.product).toBe("Disk X");
    expect(inq.revision).toBe("1.0");
  });

  it("throws naming the truncated field", () => {
    expect(() => parseStandardInquiry(TGTD_INQUIRY.subarray(0, 20))).toThrow(ProtocolError);
    expect(() => parseStandardInquiry(TGTD_INQUIRY.subarray(0, 20))).toThrow(
      "standard INQUIRY data: truncated at PRODUCT IDENTIFICATION (need 32 bytes, have 20)",
    );
    expect(() => parseStandardInquiry(TGTD_INQUIRY.subarray(0, 35))).toThrow(/PRODUCT REVISION LEVEL/);
    expect(() => parseStandardInquiry(TGTD_INQUIRY.subarray(0, 3))).toThrow(/RESPONSE DATA FORMAT/);
    expect(() => parseStandardInquiry(Buffer.alloc(0))).toThrow(/PERIPHERAL DEVICE TYPE/);
  });
});

describe("VPD 0x00 Supported VPD Pages", () => {
  it("lists the pages", () => {
    expect(parseSupportedVpdPages(hex("00 00 00 06 00 80 83 b0 b1 b2"))).toEqual([
      0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2,
    ]);
    expect(parseSupportedVpdPages(hex("00 00 00 00"))).toEqual([]);
  });
  it("throws on a short buffer and on a wrong page code", () => {
    expect(() => parseSupportedVpdPages(hex("00 00 00 06 00 80 83 b0"))).toThrow(
      "VPD page 0x00 (Supported VPD Pages): truncated at page data (PAGE LENGTH 6) (need 10 bytes, have 8)",
    );
    expect(() => parseSupportedVpdPages(hex("00 00 00"))).toThrow(/VPD page 0x00.*PAGE LENGTH/);
    expect(() => parseSupportedVpdPages(hex("00 80 00 00"))).toThrow(
      "VPD page 0x00 (Supported VPD Pages): PAGE CODE is 0x80",
    );
  });
});

describe("VPD 0x80 Unit Serial Number", () => {
  it("returns the trimmed serial", () => {
    expect(parseUnitSerial(Buffer.concat([hex("00 80 00 08"), ascii("beaf10  ")]))).toBe("beaf10");
    expect(parseUnitSerial(Buffer.concat([hex("00 80 00 0a"), ascii("  SN-42"), hex("00 00 00")]))).toBe(
      "SN-42",
    );
  });
  it("throws when the serial is cut short", () => {
    expect(() => parseUnitSerial(Buffer.concat([hex("00 80 00 08"), ascii("beaf")]))).toThrow(
      /VPD page 0x80 \(Unit Serial Number\): truncated/,
    );
  });
});

describe("VPD 0x83 Device Identification", () => {
  const page = Buffer.concat([
    hex("00 83 00 6a"),
    // NAA, binary, LU: 16 bytes
    hex("01 03 00 10 | 60 01 40 5a bc de f0 12 34 56 78 9a bc de f0 12"),
    // T10 vendor ID, ASCII, LU: 16 bytes
    hex("02 01 00 10"),
    ascii("IET     beaf1000"),
    // EUI-64, binary, LU
    hex("01 02 00 08 | 00 11 22 33 44 55 66 77"),
    // relative target port, iSCSI (5), PIV, target port association
    hex("51 94 00 04 | 00 00 00 01"),
    // target port group, binary, target port
    hex("01 15 00 04 | 00 00 00 02"),
    // SCSI name string, UTF-8, iSCSI, PIV, target device: NUL-terminated, padded to 28
    hex("53 a8 00 1c"),
    ascii("iqn.2001-04.com.example:tgt"),
    hex("00"),
    // vendor specific, binary
    hex("01 00 00 02 | ab cd"),
  ]);

  it("parses every designator type", () => {
    expect(page.length).toBe(4 + 0x6a);
    expect(parseDeviceIdentification(page)).toEqual([
      {
        protocolIdentifier: 0,
        codeSet: 1,
        piv: false,
        association: 0,
        type: 3,
        value: "6001405abcdef0123456789abcdef012",
      },
      { protocolIdentifier: 0, codeSet: 2, piv: false, association: 0, type: 1, value: "IET     beaf1000" },
      { protocolIdentifier: 0, codeSet: 1, piv: false, association: 0, type: 2, value: "0011223344556677" },
      { protocolIdentifier: 5, codeSet: 1, piv: true, association: 1, type: 4, value: "00000001" },
      { protocolIdentifier: 0, codeSet: 1, piv: false, association: 1, type: 5, value: "00000002" },
      {
        protocolIdentifier: 5,
        codeSet: 3,
        piv: true,
        association: 2,
        type: 8,
        value: "iqn.2001-04.com.example:tgt",
      },
      { protocolIdentifier: 0, codeSet: 1, piv: false, association: 0, type: 0, value: "abcd" },
    ]);
  });

  it("an empty page has no designators", () => {
    expect(parseDeviceIdentification(hex("00 83 00 00"))).toEqual([]);
  });

  it("throws on a designator longer than the page, or a cut header", () => {
    expect(() => parseDeviceIdentification(hex("00 83 00 08 | 01 03 00 10 60 01 40 5a"))).toThrow(
      "VPD page 0x83 (Device Identification): truncated at DESIGNATOR at offset 8 (DESIGNATOR LENGTH 16) (need 24 bytes, have 12)",
    );
    expect(() => parseDeviceIdentification(hex("00 83 00 02 | 01 03"))).toThrow(
      /truncated at designation descriptor header at offset 4/,
    );
    expect(() => parseDeviceIdentification(page.subarray(0, 50))).toThrow(/VPD page 0x83.*PAGE LENGTH 106/);
  });

  it("names types and associations", () => {
    expect(designatorTypeName(3)).toBe("NAA");
    expect(designatorTypeName(8)).toBe("SCSI name string");
    expect(designatorTypeName(0x0f)).toBe("designator type 0x0f");
    expect(associationName(1)).toBe("target port");
  });
});

describe("VPD 0xB0 Block Limits", () => {
  const full = hex(
    "00 b0 00 3c | 01 01 00 08 | 00 00 08 00 | 00 00 01 00 | 00 00 00 00 | 00 40 00 00 | 00 00 00 01 |" +
      "00 00 00 08 | 80 00 00 03 | 00 00 00 00 00 40 00 00 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
  );

  it("parses an SBC-3 page", () => {
    expect(full.length).toBe(64);
    expect(parseBlockLimits(full)).toEqual({
      wsnz: true,
      maxCompareAndWriteBlocks: 1,
      optimalTransferGranularity: 8,
      maxTransferBlocks: 2048,
      optimalTransferBlocks: 256,
      maxPrefetchBlocks: 0,
      maxUnmapLbaCount: 0x400000,
      maxUnmapDescriptors: 1,
      optimalUnmapGranularity: 8,
      unmapGranularityAlignment: 3,
      maxWriteSameBlocks: 0x400000,
    });
  });

  it("a short (SBC-2, PAGE LENGTH 0x0c) page leaves the later limits at 0", () => {
    const bl = parseBlockLimits(hex("00 b0 00 0c | 00 00 00 01 | 00 00 04 00 | 00 00 00 80"));
    expect(bl.maxTransferBlocks).toBe(1024);
    expect(bl.optimalTransferBlocks).toBe(128);
    expect(bl.maxUnmapLbaCount).toBe(0);
    expect(bl.maxWriteSameBlocks).toBe(0);
    expect(bl.unmapGranularityAlignment).toBeNull();
  });

  it("throws when the buffer is shorter than the page", () => {
    expect(() => parseBlockLimits(full.subarray(0, 16))).toThrow(
      /VPD page 0xb0 \(Block Limits\): truncated at page data/,
    );
    expect(() => parseBlockLimits(hex("00 b2 00 00"))).toThrow(/PAGE CODE is 0xb2/);
  });
});

describe("VPD 0xB2 Logical Block Provisioning", () => {
  it("parses the provisioning bits", () => {
    expect(parseLogicalBlockProvisioning(hex("00 b2 00 04 | 00 e4 02 00"))).toEqual({
      thresholdExponent: 0,
      lbpu: true,
      lbpws: true,
      lbpws10: true,
      lbprz: true,
      ancSup: false,
      provisioningType: 2,
    });
    expect(() => parseLogicalBlockProvisioning(hex("00 b2 00 02 | 00 80"))).toThrow(/PROVISIONING TYPE/);
  });
});
