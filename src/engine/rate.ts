/**
 * Open-loop rate scheduling (like wrk2): every command of a rate-limited job has an intended
 * start time on a fixed schedule, independent of how fast earlier commands completed. Latency
 * is measured from the intended time, so a stalled target cannot hide its queueing delay
 * (coordinated omission); the service time (submission -> status) is kept separately.
 *
 * The job's rate is shared by its workers: each worker runs rate/workers, and worker i starts
 * i/workers of an interval later, so the workers' commands interleave evenly.
 */

export interface JobRate {
  iops: number | null;
  bytesPerSec: number | null;
}

/** A per-worker schedule. Times are in milliseconds on the worker's monotonic clock. */
export interface RateSchedule {
  /** Intended start of the next command. */
  next: number;
  /** Milliseconds per command (iops rate) or 0 when the rate is in bytes. */
  readonly msPerIo: number;
  /** Milliseconds per byte (bytesPerSec rate) or 0 when the rate is in I/Os. */
  readonly msPerByte: number;
}

/**
 * The schedule of worker `workerIndex` of `workerCount`, starting at `startMs`. `meanIoBytes`
 * (the weighted mean block size) sets the phase offset of a bytes-per-second rate.
 */
export function createSchedule(
  rate: JobRate,
  workerIndex: number,
  workerCount: number,
  startMs: number,
  meanIoBytes: number,
): RateSchedule {
  const workers = workerCount > 0 ? workerCount : 1;
  let msPerIo = 0;
  let msPerByte = 0;
  if (rate.iops !== null && rate.iops > 0) {
    msPerIo = (1000 * workers) / rate.iops;
  } else if (rate.bytesPerSec !== null && rate.bytesPerSec > 0) {
    msPerByte = (1000 * workers) / rate.bytesPerSec;
  } else {
    throw new RangeError("rate: needs a positive iops or bytesPerSec");
  }
  const interval = msPerIo > 0 ? msPerIo : msPerByte * meanIoBytes;
  return { next: startMs + (interval * workerIndex) / workers, msPerIo, msPerByte };
}

/** Moves the schedule past one command of `bytes`; returns that command's intended start. */
export function takeSlot(s: RateSchedule, bytes: number): number {
  const intended = s.next;
  s.next += s.msPerIo > 0 ? s.msPerIo : s.msPerByte * bytes;
  return intended;
}

/** Latency from the intended start (CO corrected), in µs; never below the service time. */
export function correctedLatencyUs(intendedMs: number, submitMs: number, endMs: number): number {
  const from = Math.min(intendedMs, submitMs);
  return (endMs - from) * 1000;
}

/** Service time in µs: submission to status. */
export function serviceTimeUs(submitMs: number, endMs: number): number {
  return (endMs - submitMs) * 1000;
}

/** Lag of the schedule at `nowMs`: how late the next command already is (0 when ahead). */
export function scheduleLagMs(s: RateSchedule, nowMs: number): number {
  const lag = nowMs - s.next;
  return Math.max(lag, 0);
}

/**
 * "The target could not keep up": the schedule fell behind by more than a second, or by more
 * than 10% of the time elapsed since the start (whichever is larger).
 */
export function fellBehind(lagMs: number, elapsedMs: number): boolean {
  const limit = Math.max(1000, elapsedMs * 0.1);
  return lagMs > limit;
}

/** Weighted mean of block sizes. */
export function meanBlockBytes(sizes: ReadonlyArray<{ bytes: number; weight: number }>): number {
  let w = 0;
  let sum = 0;
  for (const s of sizes) {
    w += s.weight;
    sum += s.bytes * s.weight;
  }
  return w > 0 ? sum / w : 0;
}
