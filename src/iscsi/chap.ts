/**
 * CHAP for iSCSI (RFC 7143 12.1.3, RFC 1994): the response is H(id || secret || challenge) where
 * id is the one-byte CHAP_I. Binary values travel as "0x" hex or "0b" base64 (RFC 7143 6.1).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ProtocolError } from "./errors.js";

export type ChapAlgorithm = 5 | 6 | 7 | 8; // MD5, SHA-1, SHA-256, SHA3-256

/** node:crypto hash names of the CHAP_A values. */
export const CHAP_HASH: Record<ChapAlgorithm, string> = Object.freeze({
  5: "md5",
  6: "sha1",
  7: "sha256",
  8: "sha3-256",
});

/** Digest length in bytes of each algorithm. */
export const CHAP_DIGEST_LENGTH: Record<ChapAlgorithm, number> = Object.freeze({
  5: 16,
  6: 20,
  7: 32,
  8: 32,
});

/** RFC 7143 12.1.3: a CHAP_C challenge longer than 1024 bytes is refused. */
export const CHAP_MAX_CHALLENGE = 1024;

export interface ChapCredentials {
  user: string;
  secret: string;
  targetUser?: string;
  targetSecret?: string;
}

export function isChapAlgorithm(n: number): n is ChapAlgorithm {
  return n === 5 || n === 6 || n === 7 || n === 8;
}

/** H(id || secret || challenge) with the hash of `alg`. `secret` as a string is taken as UTF-8. */
export function chapResponse(
  alg: ChapAlgorithm,
  id: number,
  secret: string | Buffer,
  challenge: Buffer,
): Buffer {
  if (!isChapAlgorithm(alg)) throw new ProtocolError("field", `CHAP_A: unsupported algorithm ${String(alg)}`);
  if (!Number.isInteger(id) || id < 0 || id > 255) {
    throw new ProtocolError("field", `CHAP_I: identifier must be an integer 0..255 (got ${String(id)})`);
  }
  const h = createHash(CHAP_HASH[alg]);
  h.update(Buffer.of(id));
  h.update(typeof secret === "string" ? Buffer.from(secret, "utf8") : secret);
  h.update(challenge);
  return h.digest();
}

/** Constant-time check of a received CHAP_R against the expected response. */
export function verifyChapResponse(
  alg: ChapAlgorithm,
  id: number,
  secret: string | Buffer,
  challenge: Buffer,
  response: Buffer,
): boolean {
  const expected = chapResponse(alg, id, secret, challenge);
  return response.length === expected.length && timingSafeEqual(response, expected);
}

/** A random challenge as long as the algorithm's digest (at least 16 bytes), from the CSPRNG. */
export function newChallenge(alg: ChapAlgorithm): Buffer {
  return randomBytes(Math.max(16, CHAP_DIGEST_LENGTH[alg] ?? 16));
}

/** A random CHAP_I identifier 0..255. */
export function newChapId(): number {
  return randomBytes(1)[0]!;
}

/** "0x" + lowercase hex (RFC 7143 6.1 hex-constant). */
export function encodeBinary(buf: Buffer): string {
  return `0x${buf.toString("hex")}`;
}

const HEX_RE = /^[0-9a-fA-F]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a binary-value: "0x"/"0X" hex (an odd digit count is taken as a number with a leading
 * zero nibble) or "0b"/"0B" base64 (RFC 4648, padded). ProtocolError("text") otherwise, and when
 * the decoded value is longer than maxBytes (default: CHAP_MAX_CHALLENGE). The value itself is
 * not echoed (it may be a response derived from a secret).
 */
export function decodeBinary(value: string, maxBytes: number = CHAP_MAX_CHALLENGE): Buffer {
  const prefix = value.slice(0, 2).toLowerCase();
  const body = value.slice(2);
  let out: Buffer;
  if (prefix === "0x") {
    if (body.length === 0 || !HEX_RE.test(body)) {
      throw new ProtocolError("text", "binary value: 0x must be followed by hex digits");
    }
    out = Buffer.from(body.length % 2 === 1 ? `0${body}` : body, "hex");
  } else if (prefix === "0b") {
    if (body.length === 0 || !BASE64_RE.test(body)) {
      throw new ProtocolError("text", "binary value: 0b must be followed by padded base64");
    }
    out = Buffer.from(body, "base64");
  } else {
    throw new ProtocolError("text", 'binary value: must start with "0x" (hex) or "0b" (base64)');
  }
  if (out.length > maxBytes) {
    throw new ProtocolError("text", `binary value: ${out.length} bytes exceeds ${maxBytes}`);
  }
  return out;
}

/** CHAP_I: a decimal (or 0x hex) number 0..255. ProtocolError("text") otherwise. */
export function parseChapId(value: string): number {
  let n = Number.NaN;
  if (/^(?:0|[1-9][0-9]{0,2})$/.test(value)) n = Number(value);
  else if (/^0[xX][0-9a-fA-F]{1,2}$/.test(value)) n = Number.parseInt(value.slice(2), 16);
  if (!(n >= 0 && n <= 255)) throw new ProtocolError("text", "CHAP_I: must be a number 0..255");
  return n;
}

/** "7,5,99" -> [7, 5]: the algorithms of a CHAP_A list we support, in the given order, without repeats. */
export function parseChapAlgorithms(value: string): ChapAlgorithm[] {
  const out: ChapAlgorithm[] = [];
  for (const item of value.split(",")) {
    if (!/^[0-9]{1,3}$/.test(item)) continue;
    const n = Number(item);
    if (isChapAlgorithm(n) && !out.includes(n)) out.push(n);
  }
  return out;
}
