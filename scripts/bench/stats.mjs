/** Small statistics and formatting helpers of the benchmark report. */

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function ratio(a, b) {
  return a === null || b === null || b === 0 ? null : a / b;
}

export const round = (x, digits = 3) => (x === null ? null : Number(x.toFixed(digits)));

export function fmtIops(x) {
  if (x === null) return "n/a";
  return x >= 10000 ? `${(x / 1000).toFixed(1)}k IOPS` : `${Math.round(x)} IOPS`;
}

export function fmtRate(bytesPerSec) {
  return bytesPerSec === null ? "n/a" : `${(bytesPerSec / 1048576).toFixed(0)} MiB/s`;
}

export function fmtMiB(bytes) {
  return bytes === null ? "n/a" : `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function fmtRatio(x) {
  return x === null ? "n/a" : `${x.toFixed(2)}×`;
}

export function fmtRange(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return "n/a";
  return `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;
}

export function fmtUs(us) {
  return us === null || us === undefined
    ? "n/a"
    : us >= 1000
      ? `${(us / 1000).toFixed(2)} ms`
      : `${us.toFixed(1)} µs`;
}

export function fmtMB(bytesPerSec) {
  return bytesPerSec === null || bytesPerSec === undefined ? "n/a" : `${(bytesPerSec / 1e6).toFixed(0)} MB/s`;
}
