import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CHAP_HASH,
  type ChapAlgorithm,
  chapResponse,
  decodeBinary,
  encodeBinary,
  newChallenge,
  parseChapAlgorithms,
  parseChapId,
  verifyChapResponse,
} from "../../src/iscsi/chap.js";
import { ProtocolError } from "../../src/iscsi/errors.js";

// id = 0x01, secret = "password", challenge = 00 01 02 .. 0f. The message bytes are
// 01 70 61 73 73 77 6f 72 64 00 01 .. 0f; the digests were computed with coreutils md5sum,
// sha1sum, sha256sum and `openssl dgst -sha3-256` over that file, not with node.
const CHALLENGE = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
const FIXED: Array<[ChapAlgorithm, string]> = [
  [5, "51b4c75f261478f67e37e429440e294d"],
  [6, "70b6d30d9d48903c0296468e2335989d5082d9f2"],
  [7, "09f8acdf6ba545e647f75f83caedaec2853f9c767853614d5e1dff6c40effbfa"],
  [8, "334dbec5518dddf1a0662b01ec1e974027d8329d68e8521d6c9642c8d040f289"],
];

describe("chapResponse", () => {
  it.each(FIXED)("algorithm %i matches the independently computed vector", (alg, hex) => {
    expect(chapResponse(alg, 1, "password", CHALLENGE).toString("hex")).toBe(hex);
    expect(chapResponse(alg, 1, Buffer.from("password"), CHALLENGE).toString("hex")).toBe(hex);
  });

  it("MD5 of id 0x2a, secret 'abc', empty challenge (md5sum of 2a 61 62 63)", () => {
    expect(chapResponse(5, 42, "abc", Buffer.alloc(0)).toString("hex")).toBe(
      "602779d0a125b6eaec1da15b491caada",
    );
  });

  it.each([5, 6, 7, 8] as ChapAlgorithm[])("algorithm %i is H(id || secret || challenge)", (alg) => {
    const challenge = Buffer.from("f1e2d3c4b5a69788796a5b4c3d2e1f00aa55", "hex");
    for (const id of [0, 1, 127, 255]) {
      const expected = createHash(CHAP_HASH[alg])
        .update(Buffer.concat([Buffer.of(id), Buffer.from("s3cr\u00e9t-12", "utf8"), challenge]))
        .digest();
      expect(chapResponse(alg, id, "s3cr\u00e9t-12", challenge)).toEqual(expected);
    }
  });

  it("uses the right node:crypto names", () => {
    expect(CHAP_HASH).toEqual({ 5: "md5", 6: "sha1", 7: "sha256", 8: "sha3-256" });
  });

  it("rejects an identifier outside 0..255", () => {
    expect(() => chapResponse(5, 256, "x", CHALLENGE)).toThrow(/CHAP_I/);
    expect(() => chapResponse(5, -1, "x", CHALLENGE)).toThrow(ProtocolError);
    expect(() => chapResponse(5, 1.5, "x", CHALLENGE)).toThrow(ProtocolError);
  });

  it("verifyChapResponse accepts the right response only", () => {
    const r = chapResponse(7, 9, "pw", CHALLENGE);
    expect(verifyChapResponse(7, 9, "pw", CHALLENGE, r)).toBe(true);
    expect(verifyChapResponse(7, 9, "pW", CHALLENGE, r)).toBe(false);
    expect(verifyChapResponse(7, 10, "pw", CHALLENGE, r)).toBe(false);
    expect(verifyChapResponse(7, 9, "pw", CHALLENGE, r.subarray(1))).toBe(false);
  });
});

describe("newChallenge", () => {
  it("is at least the digest length and differs each time", () => {
    expect(newChallenge(5)).toHaveLength(16);
    expect(newChallenge(6)).toHaveLength(20);
    expect(newChallenge(7)).toHaveLength(32);
    expect(newChallenge(8)).toHaveLength(32);
    expect(newChallenge(7).equals(newChallenge(7))).toBe(false);
  });
});

describe("binary values", () => {
  it("encodes as 0x lowercase hex", () => {
    expect(encodeBinary(Buffer.from([0x00, 0xab, 0xff]))).toBe("0x00abff");
  });

  it.each([
    ["0x00abff", [0x00, 0xab, 0xff]],
    ["0X00ABFF", [0x00, 0xab, 0xff]],
    ["0xAbC", [0x0a, 0xbc]],
    ["0bAKv/", [0x00, 0xab, 0xff]],
    ["0BAKs=", [0x00, 0xab]],
    ["0bAA==", [0x00]],
  ])("decodes %s", (text, bytes) => {
    expect(decodeBinary(text)).toEqual(Buffer.from(bytes));
  });

  it.each([
    ["", "must start with"],
    ["abcd", "must start with"],
    ["1234", "must start with"],
    ["0x", "hex digits"],
    ["0xzz", "hex digits"],
    ["0x12 34", "hex digits"],
    ["0b", "base64"],
    ["0bAKv", "base64"],
    ["0bA=Kv", "base64"],
    ["0b!!!!", "base64"],
  ])("rejects %j", (text, message) => {
    try {
      decodeBinary(text);
      throw new Error("no error");
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).kind).toBe("text");
      expect((err as Error).message).toContain(message);
    }
  });

  it("caps the decoded length", () => {
    expect(decodeBinary(`0x${"ab".repeat(1024)}`)).toHaveLength(1024);
    expect(() => decodeBinary(`0x${"ab".repeat(1025)}`)).toThrow(/1025 bytes exceeds 1024/);
    expect(() => decodeBinary("0x0102", 1)).toThrow(/exceeds 1/);
  });

  it("round-trips", () => {
    const b = newChallenge(8);
    expect(decodeBinary(encodeBinary(b))).toEqual(b);
    expect(decodeBinary(`0b${b.toString("base64")}`)).toEqual(b);
  });
});

describe("CHAP_A and CHAP_I", () => {
  it("parseChapAlgorithms keeps the supported ones in order", () => {
    expect(parseChapAlgorithms("7,5")).toEqual([7, 5]);
    expect(parseChapAlgorithms("5")).toEqual([5]);
    expect(parseChapAlgorithms("99,8,6,6,x,,5")).toEqual([8, 6, 5]);
    expect(parseChapAlgorithms("1,2,3")).toEqual([]);
    expect(parseChapAlgorithms("")).toEqual([]);
  });

  it("parseChapId", () => {
    expect(parseChapId("0")).toBe(0);
    expect(parseChapId("255")).toBe(255);
    expect(parseChapId("0x1f")).toBe(31);
    for (const bad of ["256", "-1", "", "01", "a", "1.0", "0x100"])
      expect(() => parseChapId(bad)).toThrow(/CHAP_I/);
  });
});
