import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/iscsi/errors.js";
import {
  buildText,
  DEFAULT_MAX_TEXT_BYTES,
  duplicateKey,
  getText,
  parseText,
  splitText,
  TextAssembler,
  type TextPairs,
} from "../../src/iscsi/text.js";

/** Bytes written by hand: "key=value" strings joined by NUL, each followed by NUL. */
function raw(...items: string[]): Buffer {
  return Buffer.from(items.map((s) => `${s}\0`).join(""), "latin1");
}

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error("expected a ProtocolError");
}

describe("parseText", () => {
  it("parses key=value pairs terminated by null bytes", () => {
    const data = Buffer.from([
      ...Buffer.from("HeaderDigest=None", "latin1"),
      0,
      ...Buffer.from("MaxRecvDataSegmentLength=65536", "latin1"),
      0,
    ]);
    expect(parseText(data)).toEqual([
      ["HeaderDigest", "None"],
      ["MaxRecvDataSegmentLength", "65536"],
    ]);
  });

  it("returns nothing for an empty segment and skips extra null bytes", () => {
    expect(parseText(Buffer.alloc(0))).toEqual([]);
    expect(parseText(Buffer.from("A=1\0\0\0B=2\0\0", "latin1"))).toEqual([
      ["A", "1"],
      ["B", "2"],
    ]);
  });

  it("keeps '=' inside a value and allows an empty value", () => {
    expect(parseText(raw("X-com.example.k=a=b", "SendTargets="))).toEqual([
      ["X-com.example.k", "a=b"],
      ["SendTargets", ""],
    ]);
  });

  it("decodes values as UTF-8 (aliases are iSCSI-local-name-values)", () => {
    const data = Buffer.concat([
      Buffer.from("TargetAlias=", "latin1"),
      Buffer.from([0xc3, 0xa9]),
      Buffer.alloc(1),
    ]);
    expect(parseText(data)).toEqual([["TargetAlias", "\u00e9"]]);
  });

  it("accepts every allowed key character and 63-byte keys", () => {
    const key = `A${"b".repeat(62)}`;
    expect(parseText(raw(`${key}=1`, "X-a.b-c+d@e_f=2", "X#x.y=3"))).toEqual([
      [key, "1"],
      ["X-a.b-c+d@e_f", "2"],
      ["X#x.y", "3"],
    ]);
  });

  it.each([
    ["missing '='", raw("HeaderDigest"), "has no '='"],
    ["unterminated last pair", Buffer.from("A=1\0B=2", "latin1"), "not terminated"],
    ["empty key", raw("=x"), "empty key name"],
    ["64-byte key", raw(`${"K".repeat(64)}=1`), "longer than 63"],
    ["bad key character", raw("Key Name=1"), "characters other than"],
    ["bad key character '#'", raw("Key#=1"), "characters other than"],
    ["256-byte value", raw(`TargetAlias=${"v".repeat(256)}`), "exceeds 255"],
    ["repeated key", raw("MaxBurstLength=512", "MaxBurstLength=1024"), "MaxBurstLength: key repeated"],
  ])("rejects %s", (_name, data, message) => {
    const err = protocolError(() => parseText(data));
    expect(err.kind).toBe("text");
    expect(err.message).toContain(message);
  });

  it("accepts a 255-byte value and an 8192-byte CHAP_C value but not 8193", () => {
    expect(parseText(raw(`TargetAlias=${"v".repeat(255)}`))[0]![1]).toHaveLength(255);
    const c = `0x${"ab".repeat(4095)}`; // 8192 bytes
    expect(parseText(raw(`CHAP_C=${c}`))[0]![1]).toBe(c);
    expect(() => parseText(raw(`CHAP_C=${c}a`))).toThrow(/exceeds 8192/);
  });

  it("allows the keys a SendTargets response repeats, and any repeat when asked", () => {
    const data = raw(
      "TargetName=iqn.2001-04.com.example:a",
      "TargetAddress=10.0.0.1:3260,1",
      "TargetAddress=[fe80::1]:3260,2",
      "TargetName=iqn.2001-04.com.example:b",
    );
    expect(parseText(data)).toHaveLength(4);
    expect(() => parseText(data, { duplicates: "reject" })).toThrow(/TargetAddress: key repeated/);
    expect(parseText(raw("A=1", "A=2"), { duplicates: "allow" })).toEqual([
      ["A", "1"],
      ["A", "2"],
    ]);
  });
});

describe("buildText", () => {
  it("writes key=value\\0 for each pair", () => {
    const pairs: TextPairs = [
      ["InitiatorName", "iqn.2026-11.io.iscsi-bench:h"],
      ["SessionType", "Normal"],
    ];
    expect(buildText(pairs)).toEqual(raw("InitiatorName=iqn.2026-11.io.iscsi-bench:h", "SessionType=Normal"));
    expect(parseText(buildText(pairs))).toEqual(pairs);
  });

  it("rejects what parseText would reject", () => {
    expect(() => buildText([["Bad Key", "1"]])).toThrow(ProtocolError);
    expect(() => buildText([["A", "x\0y"]])).toThrow(/null byte/);
    expect(() => buildText([["A", "v".repeat(256)]])).toThrow(/exceeds 255/);
  });
});

describe("helpers", () => {
  it("duplicateKey and getText", () => {
    expect(
      duplicateKey([
        ["A", "1"],
        ["B", "2"],
        ["A", "3"],
      ]),
    ).toBe("A");
    expect(duplicateKey([["A", "1"]])).toBeNull();
    expect(getText([["A", "1"]], "A")).toBe("1");
    expect(getText([["A", "1"]], "B")).toBeUndefined();
  });
});

describe("splitText and TextAssembler", () => {
  const payload = raw(
    ...Array.from({ length: 50 }, (_, i) => `TargetName=iqn.2001-04.com.example:disk${i}`),
    "TargetAddress=127.0.0.1:3260,1",
  );

  it("splits into segments of at most maxSegment bytes covering the payload in order", () => {
    for (const max of [1, 7, 64, 1000, payload.length - 1, payload.length, payload.length + 1]) {
      const segs = splitText(payload, max);
      expect(segs.every((s) => s.length <= max && s.length > 0)).toBe(true);
      expect(segs).toHaveLength(Math.ceil(payload.length / max));
      expect(Buffer.concat(segs)).toEqual(payload);
    }
    expect(splitText(Buffer.alloc(0), 8)).toEqual([Buffer.alloc(0)]);
    expect(() => splitText(payload, 0)).toThrow(RangeError);
  });

  it("reassembles continued segments (C bit) into the whole payload", () => {
    const segs = splitText(payload, 100);
    const asm = new TextAssembler();
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1;
      const out = asm.add(seg, !last);
      if (last) {
        expect(out).toEqual(payload);
        expect(parseText(out!)).toHaveLength(51);
      } else {
        expect(out).toBeNull();
      }
    });
    expect(asm.pending).toBe(0);
  });

  it("copies segments, so a reused receive buffer does not corrupt the result", () => {
    const asm = new TextAssembler();
    const buf = Buffer.from("A=1\0", "latin1");
    expect(asm.add(buf, true)).toBeNull();
    buf.fill(0x5a);
    expect(asm.add(Buffer.from("B=2\0", "latin1"), false)).toEqual(Buffer.from("A=1\0B=2\0", "latin1"));
  });

  it("caps the total size and resets after the error", () => {
    expect(DEFAULT_MAX_TEXT_BYTES).toBe(65536);
    const asm = new TextAssembler(10);
    expect(asm.add(Buffer.alloc(6, 0x41), true)).toBeNull();
    const err = protocolError(() => asm.add(Buffer.alloc(5, 0x41), true));
    expect(err.kind).toBe("length");
    expect(err.message).toContain("11 bytes exceeds the 10-byte limit");
    expect(asm.pending).toBe(0);
    expect(asm.add(Buffer.from("A=1\0"), false)).toEqual(Buffer.from("A=1\0"));
  });
});
