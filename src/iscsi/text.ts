/**
 * iSCSI text keys: `key=value\0` pairs of Login and Text PDUs (RFC 7143 section 6.1), their
 * splitting over several PDUs with the C (continue) bit, and their reassembly.
 */
import { ProtocolError } from "./errors.js";

export type TextPairs = Array<[key: string, value: string]>;

/** RFC 7143 6.1: a key-name must not exceed 63 characters (ASCII, so bytes). */
export const MAX_KEY_LENGTH = 63;
/** RFC 7143 6.1: "If not otherwise specified, the maximum length of a simple-value ... is 255 bytes". */
export const MAX_VALUE_LENGTH = 255;
/** Binary values of the authentication keys may be much longer (CHAP_C/CHAP_R up to 1024 bytes encoded as hex). */
export const MAX_LONG_VALUE_LENGTH = 8192;
/** Default cap of one logical text data segment (all continued PDUs together). */
export const DEFAULT_MAX_TEXT_BYTES = 64 * 1024;

/** Keys whose values are long binary strings (RFC 7143 12.1.3, 12.1.4). */
const LONG_VALUE_KEYS: ReadonlySet<string> = new Set([
  "CHAP_C",
  "CHAP_R",
  "SRP_s",
  "SRP_A",
  "SRP_B",
  "SRP_M",
  "SRP_HM",
  "KRB_AP_REQ",
  "KRB_AP_REP",
  "SPKM_REQ",
  "SPKM_ERROR",
  "SPKM_REP_TI",
  "SPKM_REP_IT",
]);

/**
 * Keys that a SendTargets response repeats (RFC 7143 appendix C: one TargetName per target,
 * one TargetAddress per portal). Any other repeated key is a protocol error (RFC 7143 6.2:
 * a key must not be declared or negotiated more than once).
 */
const REPEATABLE_KEYS: ReadonlySet<string> = new Set(["TargetName", "TargetAddress", "TargetAlias"]);

/** key-name: letters, digits, dot, minus, plus, commercial at, underscore (RFC 7143 6.1); "X#..." keys (13.23) also carry '#'. */
const KEY_RE = /^[A-Za-z0-9.\-+@_]+$/;
const X_SHARP_KEY_RE = /^X#[A-Za-z0-9.\-+@_]+$/;

export interface ParseTextOptions {
  /**
   * "reject": any repeated key is an error; "allow": repeated keys are returned as they are;
   * "sendTargets" (default): only TargetName, TargetAddress and TargetAlias may repeat.
   */
  duplicates?: "reject" | "allow" | "sendTargets";
}

/** Checks one key-name; returns the problem or null. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return "empty key name";
  if (key.length > MAX_KEY_LENGTH) return `key name longer than ${MAX_KEY_LENGTH} bytes`;
  if (!KEY_RE.test(key) && !X_SHARP_KEY_RE.test(key))
    return "key name has characters other than A-Z a-z 0-9 . - + @ _";
  return null;
}

/** The longest value (in bytes) allowed for `key`. */
export function maxValueLength(key: string): number {
  return LONG_VALUE_KEYS.has(key) ? MAX_LONG_VALUE_LENGTH : MAX_VALUE_LENGTH;
}

/** Printable form of a key for error messages (a hostile key could be long or binary). */
function showKey(key: string): string {
  const s = key.length > 40 ? `${key.slice(0, 40)}...` : key;
  return JSON.stringify(s);
}

/**
 * Parses a whole logical text data segment. Every pair must end with one null byte (RFC 7143 6.1);
 * consecutive null bytes (padding some targets leave) are skipped. Throws ProtocolError("text").
 */
export function parseText(data: Buffer, options: ParseTextOptions = {}): TextPairs {
  const duplicates = options.duplicates ?? "sendTargets";
  const pairs: TextPairs = [];
  const seen = new Set<string>();
  let start = 0;
  while (start < data.length) {
    if (data[start] === 0) {
      start++;
      continue;
    }
    const end = data.indexOf(0, start);
    if (end < 0) {
      throw new ProtocolError(
        "text",
        `text: last key=value pair (at byte ${start}) is not terminated by a null byte`,
      );
    }
    const eq = data.indexOf(0x3d, start); // '='
    if (eq < 0 || eq > end) {
      const key = data.toString("latin1", start, Math.min(end, start + 40));
      throw new ProtocolError("text", `text: pair ${showKey(key)} has no '='`);
    }
    const key = data.toString("latin1", start, eq);
    const problem = keyProblem(key);
    if (problem !== null) throw new ProtocolError("text", `text: key ${showKey(key)}: ${problem}`);
    const valueBytes = end - eq - 1;
    const max = maxValueLength(key);
    if (valueBytes > max) {
      throw new ProtocolError("text", `text: ${key}: value of ${valueBytes} bytes exceeds ${max}`);
    }
    const value = data.toString("utf8", eq + 1, end);
    if (seen.has(key)) {
      if (duplicates === "reject" || (duplicates === "sendTargets" && !REPEATABLE_KEYS.has(key))) {
        throw new ProtocolError("text", `text: ${key}: key repeated`);
      }
    } else {
      seen.add(key);
    }
    pairs.push([key, value]);
    start = end + 1;
  }
  return pairs;
}

/** The first key that occurs more than once, or null. */
export function duplicateKey(pairs: TextPairs): string | null {
  const seen = new Set<string>();
  for (const [key] of pairs) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return null;
}

/** Value of the first pair with `key`, or undefined. */
export function getText(pairs: TextPairs, key: string): string | undefined {
  for (const [k, v] of pairs) if (k === key) return v;
  return undefined;
}

/** Builds `key=value\0...`. Throws ProtocolError("text") for a key or value the RFC forbids. */
export function buildText(pairs: TextPairs): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of pairs) {
    const problem = keyProblem(key);
    if (problem !== null) throw new ProtocolError("text", `text: key ${showKey(key)}: ${problem}`);
    if (value.includes("\0")) throw new ProtocolError("text", `text: ${key}: value contains a null byte`);
    const v = Buffer.from(value, "utf8");
    const max = maxValueLength(key);
    if (v.length > max)
      throw new ProtocolError("text", `text: ${key}: value of ${v.length} bytes exceeds ${max}`);
    parts.push(Buffer.from(`${key}=`, "latin1"), v, Buffer.alloc(1));
  }
  return Buffer.concat(parts);
}

/**
 * Splits a long text payload into segments of at most maxSegment bytes, sent in PDUs with the
 * C bit set on all but the last (RFC 7143 11.10.2 / 11.12.2; a pair may span PDUs, 6.1).
 * An empty payload gives one empty segment. Segments are views of `data`.
 */
export function splitText(data: Buffer, maxSegment: number): Buffer[] {
  if (!Number.isInteger(maxSegment) || maxSegment < 1) {
    throw new RangeError(`splitText: maxSegment must be a positive integer (got ${maxSegment})`);
  }
  if (data.length <= maxSegment) return [data];
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += maxSegment) {
    out.push(data.subarray(off, Math.min(off + maxSegment, data.length)));
  }
  return out;
}

/**
 * Collects the data segments of a sequence of Login or Text PDUs with the C bit, up to the PDU
 * with C=0 (a logical text data segment, RFC 7143 6.1). Segments are copied, so they may be
 * views valid only during the framer callback.
 */
export class TextAssembler {
  private parts: Buffer[] = [];
  private total = 0;

  constructor(readonly maxBytes: number = DEFAULT_MAX_TEXT_BYTES) {}

  /** Adds one segment; returns the whole payload when `cont` is false, else null. Throws ProtocolError("length") past maxBytes. */
  add(segment: Buffer, cont: boolean): Buffer | null {
    if (this.total + segment.length > this.maxBytes) {
      const total = this.total + segment.length;
      this.reset();
      throw new ProtocolError(
        "length",
        `text: continued text of ${total} bytes exceeds the ${this.maxBytes}-byte limit`,
      );
    }
    if (segment.length > 0) {
      this.parts.push(Buffer.from(segment));
      this.total += segment.length;
    }
    if (cont) return null;
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.total);
    this.reset();
    return whole;
  }

  /** Bytes collected so far. */
  get pending(): number {
    return this.total;
  }

  reset(): void {
    this.parts = [];
    this.total = 0;
  }
}
