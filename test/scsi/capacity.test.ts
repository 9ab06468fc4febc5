import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/iscsi/errors.js";
import { parseReadCapacity10, parseReadCapacity16, RC10_USE_16 } from "../../src/scsi/capacity.js";

/** Hand-written hex; whitespace and "|" ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ""), "hex");
}

describe("READ CAPACITY(10) data (SBC-3 5.15.2)", () => {
  it("blocks = last LBA + 1", () => {
    expect(parseReadCapacity10(hex("00 ff ff ff | 00 00 02 00"))).toEqual({
      lastLba: 0xffffff,
      blockSize: 512,
      blocks: 0x1000000,
      thinProvisioned: false,
      lbprz: false,
    });
  });
  it("0xffffffff means: ask READ CAPACITY(16)", () => {
    const c = parseReadCapacity10(hex("ff ff ff ff | 00 00 10 00"));
    expect(c.lastLba).toBe(RC10_USE_16);
    expect(c.blockSize).toBe(4096);
  });
  it("throws naming the truncated field", () => {
    expect(() => parseReadCapacity10(hex("00 ff ff ff 00 00"))).toThrow(ProtocolError);
    expect(() => parseReadCapacity10(hex("00 ff ff ff 00 00"))).toThrow(
      "READ CAPACITY(10) data: truncated at LOGICAL BLOCK LENGTH IN BYTES (need 8 bytes, have 6)",
    );
    expect(() => parseReadCapacity10(hex("00 ff"))).toThrow(/RETURNED LOGICAL BLOCK ADDRESS/);
  });
});

describe("READ CAPACITY(16) data (SBC-3 5.16.2)", () => {
  it("8-byte last LBA, LBPME and LBPRZ, exponents", () => {
    const c = parseReadCapacity16(
      hex(
        "00 00 00 01 00 00 00 00 | 00 00 10 00 | 00 | 03 | c0 08 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
      ),
    );
    expect(c).toEqual({
      lastLba: 2 ** 32,
      blockSize: 4096,
      blocks: 2 ** 32 + 1,
      thinProvisioned: true,
      lbprz: true,
      protectionEnabled: false,
      protectionType: 0,
      logicalPerPhysicalExponent: 3,
      lowestAlignedLba: 8,
    });
  });
  it("thick LUN: neither bit; protection type 1 enabled", () => {
    const c = parseReadCapacity16(hex("00 00 00 00 00 00 ff ff | 00 00 02 00 | 01 | 00 | 00 00"));
    expect(c.blocks).toBe(0x10000);
    expect(c.thinProvisioned).toBe(false);
    expect(c.lbprz).toBe(false);
    expect(c.protectionEnabled).toBe(true);
    expect(c.protectionType).toBe(0);
    expect(
      parseReadCapacity16(hex("00 00 00 00 00 00 00 00 | 00 00 02 00 | 80 | 00 | 80 00")).thinProvisioned,
    ).toBe(true);
  });
  it("throws on truncation and on a capacity beyond 2^53", () => {
    expect(() => parseReadCapacity16(hex("00 00 00 00 00 00 ff ff | 00 00 02 00"))).toThrow(
      /READ CAPACITY\(16\) data: truncated at LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT/,
    );
    expect(() => parseReadCapacity16(hex("00 00 00 00 00 00 ff ff | 00 00 02 00 | 00 00"))).toThrow(/LBPME/);
    expect(() => parseReadCapacity16(hex("00 00 00 00 00 00"))).toThrow(/RETURNED LOGICAL BLOCK ADDRESS/);
    expect(() => parseReadCapacity16(hex("00 20 00 00 00 00 00 00 | 00 00 02 00 | 00 00 00 00"))).toThrow(
      /exceeds 2\^53/,
    );
  });
});
