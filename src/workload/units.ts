/**
 * Sizes and durations as users write them in workload files and on the command line.
 *
 * Sizes: a plain non-negative integer is bytes (4096). A string is a number (fractions allowed
 * when the result is a whole number of bytes) and an optional unit, case-insensitive, spaces
 * allowed between them:
 *   B                              bytes
 *   KiB MiB GiB TiB PiB            binary (1024-based)
 *   K   M   G   T   P              binary too, as in fio and dd ("4k" = 4096)
 *   KB  MB  GB  TB  PB             decimal (1000-based), as disk vendors use them
 *
 * Durations: a plain number is seconds (30, 0.5). A string is a number and an optional unit:
 * "us", "ms", "s", "m", "h", "d" ("500ms", "30s", "2m", "1h"); without a unit, seconds.
 * Results are in milliseconds, rounded to the nearest millisecond.
 */

import { durationMs } from "../common/duration.js";
import { InputError } from "../common/errors.js";

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
  p: 1024 ** 5,
  pib: 1024 ** 5,
  pb: 1000 ** 5,
};

const NUMBER_AND_UNIT = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$/;

/** What a size must look like, for messages. */
export const SIZE_EXPECTED = 'a size such as 4096, "4KiB", "1GiB" or "50MB"';
/** What a duration must look like, for messages. */
export const DURATION_EXPECTED = 'a duration such as 30, "500ms", "30s", "2m" or "1h"';

/** A JSON-like rendering of a value for "got ..." in messages, cut to a readable length. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The size in bytes, or a message saying why `v` is not one (without a "what:" prefix). */
export function trySize(v: unknown): number | string {
  if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    return `expected ${SIZE_EXPECTED}, got ${describeValue(v)}`;
  }
  if (typeof v !== "string") return `expected ${SIZE_EXPECTED}, got ${describeValue(v)}`;
  const m = NUMBER_AND_UNIT.exec(v);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return `expected ${SIZE_EXPECTED}, got ${describeValue(v)}`;
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) {
    return `expected a whole number of bytes, got ${describeValue(v)} (${bytes} bytes)`;
  }
  return bytes;
}

/** Duration in milliseconds, or a message saying why `v` is not one. */
export function tryDuration(v: unknown): number | string {
  if (typeof v === "number") {
    if (Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
    return `expected ${DURATION_EXPECTED}, got ${describeValue(v)}`;
  }
  if (typeof v !== "string") return `expected ${DURATION_EXPECTED}, got ${describeValue(v)}`;
  // one grammar for every duration of the project: src/common/duration.ts
  const ms = durationMs(v);
  return ms ?? `expected ${DURATION_EXPECTED}, got ${describeValue(v)}`;
}

/** 4096, "4KiB", "1GiB", "50MB" -> bytes. InputError "<what>: expected ..., got ...". */
export function parseSize(v: number | string, what: string): number {
  const r = trySize(v);
  if (typeof r === "string") throw new InputError(`${what}: ${r}`);
  return r;
}

/** 30 (seconds), "500ms", "30s", "2m", "1h" -> milliseconds. InputError "<what>: expected ..., got ...". */
export function parseDuration(v: number | string, what: string): number {
  const r = tryDuration(v);
  if (typeof r === "string") throw new InputError(`${what}: ${r}`);
  return r;
}

const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 512 -> "512B", 4096 -> "4KiB", 1536 -> "1.5KiB", 10^9 -> "953.67MiB" (at most 2 decimals). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? "-" : "";
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BINARY.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(Math.round(v * 100) / 100) : String(Number(v.toFixed(2)));
  return `${sign}${text}${BINARY[i]}`;
}

/** 500 -> "500ms", 2500 -> "2.5s", 30000 -> "30s", 90000 -> "1m30s", 3600000 -> "1h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}` || "0s";
}
