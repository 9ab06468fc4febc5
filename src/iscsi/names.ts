/**
 * iSCSI names (RFC 7143 4.2.7): "iqn." (date + reversed domain name + optional ":" suffix),
 * "eui." (EUI-64, 16 hex digits) and "naa." (NAA, 16 or 32 hex digits). Names are at most 223
 * bytes of UTF-8 and are already in the form the iSCSI stringprep profile (RFC 3722) produces:
 * lowercase, NFKC-normalized, only letters, digits, '-', '.' and ':'.
 */
import { hostname } from "node:os";
import { InputError } from "../common/errors.js";

/** RFC 7143 4.2.7.1: "iSCSI names ... MUST NOT be larger than 223 bytes" (UTF-8). */
export const MAX_ISCSI_NAME_BYTES = 223;

/** The naming authority of names this tool makes up. */
export const DEFAULT_NAME_PREFIX = "iqn.2026-11.io.iscsi-bench";

const IQN_RE = /^iqn\.(\d{4})-(\d{2})\.([^:]*)(?::(.*))?$/s;
const LABEL_RE = /^[a-z0-9-]+$/;
const HEX_RE = /^[0-9a-fA-F]+$/;

function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
}

/** The first character not allowed in a normalized name (ASCII letters must be lowercase). */
function badCharacter(s: string): string | null {
  for (const ch of s) {
    if (/^[a-z0-9.\-:]$/.test(ch)) continue;
    const cp = ch.codePointAt(0)!;
    // Non-ASCII letters, marks and digits survive nameprep; anything else (space, punctuation, controls) does not.
    if (cp > 0x7f && /^[\p{L}\p{M}\p{N}]$/u.test(ch) && ch.toLowerCase() === ch) continue;
    return ch;
  }
  return null;
}

function describeChar(ch: string): string {
  if (/^[A-Z]$/.test(ch)) return `uppercase "${ch}" (iSCSI names are lowercase)`;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return `control character U+${cp.toString(16).padStart(4, "0")}`;
  if (ch === " ") return "a space";
  return `character ${JSON.stringify(ch)}`;
}

/** Returns the problem with `name`, or null when it is a valid iSCSI name. */
export function iscsiNameProblem(name: string): string | null {
  if (name.length === 0) return "must not be empty";
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_ISCSI_NAME_BYTES) return `is ${bytes} bytes long, the limit is ${MAX_ISCSI_NAME_BYTES}`;
  const type = name.slice(0, 4);
  const lower = type.toLowerCase();
  if (type !== lower && (lower === "iqn." || lower === "eui." || lower === "naa.")) {
    return `type "${type}" must be lowercase "${lower}"`;
  }
  if (lower === "eui.") {
    const hex = name.slice(4);
    if (hex.length !== 16 || !HEX_RE.test(hex)) return "eui. must be followed by exactly 16 hex digits";
    return null;
  }
  if (lower === "naa.") {
    const hex = name.slice(4);
    if ((hex.length !== 16 && hex.length !== 32) || !HEX_RE.test(hex)) {
      return "naa. must be followed by 16 or 32 hex digits";
    }
    return null;
  }
  if (lower !== "iqn.") return "must start with iqn., eui. or naa.";
  const m = IQN_RE.exec(name);
  if (!m)
    return "iqn. must be followed by a date yyyy-mm and a reversed domain name (iqn.2001-04.com.example:name)";
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (year < 1970 || month < 1 || month > 12) return `date "${m[1]}-${m[2]}" is not a valid yyyy-mm`;
  const domain = m[3]!;
  if (domain.length === 0) return "iqn. needs a reversed domain name after the date";
  for (const label of domain.split(".")) {
    if (label.length === 0) return `naming authority "${domain}" has an empty label`;
    if (!LABEL_RE.test(label)) {
      const ch = badCharacter(label) ?? [...label].find((c) => !/^[a-z0-9-]$/.test(c))!;
      return `naming authority "${domain}" has ${describeChar(ch)}`;
    }
  }
  const suffix = m[4];
  if (suffix !== undefined) {
    if (suffix.length === 0) return "nothing after ':'";
    const ch = badCharacter(suffix);
    if (ch !== null) return `has ${describeChar(ch)}`;
    if (suffix.normalize("NFKC") !== suffix) return "is not NFKC-normalized";
  }
  return null;
}

/** Throws InputError(`${label} "name": problem`) unless `name` is a valid iSCSI name. */
export function validateIscsiName(name: string, label = "iSCSI name"): void {
  const problem = iscsiNameProblem(name);
  if (problem !== null) throw new InputError(`${label} ${quote(name)}: ${problem}`);
}

/** Turns a host name into something an iqn suffix may carry: lowercase, [a-z0-9.-] only. */
export function sanitizeForIqn(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^[.-]+|[.-]+$/g, "");
  return s.length > 0 ? s : "host";
}

/** iqn.2026-11.io.iscsi-bench:<hostname, sanitized>. */
export function defaultInitiatorName(host: string = hostname()): string {
  const prefix = `${DEFAULT_NAME_PREFIX}:`;
  return prefix + sanitizeForIqn(host).slice(0, MAX_ISCSI_NAME_BYTES - prefix.length);
}
