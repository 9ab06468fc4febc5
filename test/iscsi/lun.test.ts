import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import { decodeLun, encodeLun, MAX_LUN } from "../../src/iscsi/lun.js";

/** The 8 wire bytes of a LUN field, as the BHS carries them (big-endian). */
function wire(field: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(field);
  return b.toString("hex");
}

describe("encodeLun", () => {
  it("uses peripheral device addressing (method 00b, bus 0) for 0..255", () => {
    expect(wire(encodeLun(0))).toBe("0000000000000000");
    expect(wire(encodeLun(1))).toBe("0001000000000000");
    expect(wire(encodeLun(255))).toBe("00ff000000000000");
  });

  it("uses flat space addressing (method 01b) for 256..16383", () => {
    // byte 0 = 01b << 6 | LUN bits 13..8, byte 1 = LUN bits 7..0
    expect(wire(encodeLun(256))).toBe("4100000000000000");
    expect(wire(encodeLun(0x1234))).toBe("5234000000000000");
    expect(wire(encodeLun(MAX_LUN))).toBe("7fff000000000000");
  });

  it("rejects LUNs it cannot address", () => {
    expect(() => encodeLun(-1)).toThrow(InputError);
    expect(() => encodeLun(16384)).toThrow(/16384/);
    expect(() => encodeLun(1.5)).toThrow(InputError);
  });
});

describe("decodeLun", () => {
  it("inverts encodeLun over the whole range", () => {
    for (let lun = 0; lun <= MAX_LUN; lun++) {
      if (decodeLun(encodeLun(lun)) !== lun) throw new Error(`LUN ${lun} does not round-trip`);
    }
  });

  it("decodes flat space LUNs below 256 too (some targets report them that way)", () => {
    expect(decodeLun(0x4005000000000000n)).toBe(5);
  });

  it("rejects unsupported addressing methods with a field error", () => {
    const bad = [
      0x8001000000000000n, // method 10b: logical unit addressing
      0xc101000000000000n, // method 11b: extended (well-known LUN)
      0x0101000000000000n, // peripheral addressing on bus 1
      0x0001000100000000n, // second addressing level present
    ];
    for (const field of bad) {
      let caught: unknown;
      try {
        decodeLun(field);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect((caught as ProtocolError).kind).toBe("field");
      expect((caught as ProtocolError).message).toMatch(/LUN field/);
    }
  });
});
