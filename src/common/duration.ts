/**
 * Durations in text, the one grammar of every layer (workload files, options, the built-in
 * target's fault specs; src/workload/units.ts adds the messages). A number and an optional unit, "us", "ms",
 * "s", "m", "h", "d" ("500ms", "30s", "2m", "1h"); without a unit, seconds. Milliseconds,
 * rounded to the nearest millisecond.
 */

const UNITS: Record<string, number> = {
  "": 1000,
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const NUMBER_AND_UNIT = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$/;

/** "500ms" -> 500, "2" -> 2000; null when `text` is not a duration. */
export function durationMs(text: string): number | null {
  const m = NUMBER_AND_UNIT.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return null;
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(ms) ? ms : null;
}
