/**
 * The link specification of `--link` (and of `iscsi-bench link --rate`): a rate, then options.
 *
 *   100mbit | 1gbit | 10gbit | <n>[k|m|g]bit    decimal units: 1gbit = 1e9 bit/s, n may be 2.5
 *   unlimited | 0                               no rate limit (measures the relay itself)
 *   ,delay=<d>                                  one-way delay per direction: 2ms, 0.5ms, 1s, 250us
 *   ,mtu=<n>                                    576..9216, default 1500
 *   ,queue=<n>[k|m]                             bytes each direction may queue (k = KiB, m = MiB)
 *
 * Bad input throws LinkSpecError naming the offending part.
 */
import { InputError } from "../common/errors.js";
import { DEFAULT_MTU, MAX_MTU, MIN_MTU } from "./ethernet.js";

export interface LinkSpec {
  /** 0 = no rate limit. */
  bitsPerSec: number;
  delayMs: number;
  mtu: number;
  /** Bytes each direction may queue before the source is paused; absent: the relay's default. */
  queueBytes?: number;
}

/** A bad link spec: bad input, so the commands exit 2. */
export class LinkSpecError extends InputError {
  override readonly name = "LinkSpecError";
}

/** Lowest accepted rate: slower links would make every test and run crawl. */
export const MIN_BITS_PER_SEC = 1000;
export const MAX_DELAY_MS = 10_000;
const MIN_QUEUE_BYTES = 4096;
const MAX_QUEUE_BYTES = 1024 * 1024 * 1024;

const RATE_RE = /^(\d+(?:\.\d+)?)([kmg]?)bit$/;
const DURATION_RE = /^(\d+(?:\.\d+)?)(us|ms|s)$/;
const SIZE_RE = /^(\d+)([km]?)$/;
const RATE_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9 };
const DURATION_UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000 };
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 * 1024 };

/** Parses e.g. "100mbit,delay=2ms,mtu=9000". `option` names the flag in error messages. */
export function parseLinkSpec(text: string, option = "--link"): LinkSpec {
  const fail = (part: string, expected: string): never => {
    throw new LinkSpecError(`${option}: ${JSON.stringify(part)}: ${expected}`);
  };
  const parts = text.trim().toLowerCase().split(",");
  const rate = parts[0]!.trim();
  if (rate === "") fail(text, "expected <n>[k|m|g]bit or unlimited");
  const spec: LinkSpec = { bitsPerSec: parseRate(rate, fail), delayMs: 0, mtu: DEFAULT_MTU };
  const seen = new Set<string>();
  for (const raw of parts.slice(1)) {
    const part = raw.trim();
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    if (key !== "delay" && key !== "mtu" && key !== "queue") {
      fail(part, "unknown option (expected delay=, mtu= or queue=)");
    }
    if (seen.has(key)) fail(part, `${key}= given twice`);
    seen.add(key);
    if (key === "delay") {
      const m = DURATION_RE.exec(value);
      if (m === null) fail(part, "expected a duration like 2ms, 0.5ms or 1s");
      const ms = Number(m![1]) * DURATION_UNITS[m![2]!]!;
      if (ms > MAX_DELAY_MS) fail(part, `expected a delay of at most ${MAX_DELAY_MS / 1000}s`);
      spec.delayMs = ms;
    } else if (key === "mtu") {
      const mtu = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(mtu >= MIN_MTU && mtu <= MAX_MTU)) fail(part, `expected an MTU of ${MIN_MTU}..${MAX_MTU}`);
      spec.mtu = mtu;
    } else {
      const m = SIZE_RE.exec(value);
      const bytes = m === null ? Number.NaN : Number(m[1]) * SIZE_UNITS[m[2]!]!;
      if (!(bytes >= MIN_QUEUE_BYTES && bytes <= MAX_QUEUE_BYTES)) {
        fail(part, "expected a queue size of 4k..1024m bytes, like 256k or 4m");
      }
      spec.queueBytes = bytes;
    }
  }
  return spec;
}

function parseRate(rate: string, fail: (part: string, expected: string) => never): number {
  if (rate === "unlimited" || rate === "0") return 0;
  const m = RATE_RE.exec(rate);
  if (m === null) return fail(rate, "expected <n>[k|m|g]bit");
  const bits = Number(m[1]) * RATE_UNITS[m[2]!]!;
  if (!(bits >= MIN_BITS_PER_SEC)) return fail(rate, "expected at least 1kbit (or unlimited for no limit)");
  return Math.round(bits);
}

/** "100 Mbit/s", "1 Gbit/s", "2.5 Gbit/s", "64 kbit/s"; 0 → "unlimited". */
export function formatLinkRate(bitsPerSec: number): string {
  if (bitsPerSec <= 0) return "unlimited";
  const units: [number, string][] = [
    [1e9, "Gbit/s"],
    [1e6, "Mbit/s"],
    [1e3, "kbit/s"],
  ];
  for (const [scale, unit] of units) {
    if (bitsPerSec >= scale) return `${trim(bitsPerSec / scale)} ${unit}`;
  }
  return `${trim(bitsPerSec)} bit/s`;
}

/** The whole spec for humans: "100 Mbit/s, delay 2 ms, MTU 9000". */
export function formatLinkSpec(spec: LinkSpec): string {
  let s = formatLinkRate(spec.bitsPerSec);
  if (spec.delayMs > 0) s += `, delay ${trim(spec.delayMs)} ms`;
  if (spec.mtu !== DEFAULT_MTU) s += `, MTU ${spec.mtu}`;
  if (spec.queueBytes !== undefined) s += `, queue ${Math.round(spec.queueBytes / 1024)} KiB`;
  return s;
}

function trim(n: number): string {
  return String(Number(n.toPrecision(6)));
}
