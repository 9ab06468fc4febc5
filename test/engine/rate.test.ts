import { describe, expect, it } from "vitest";
import {
  correctedLatencyUs,
  createSchedule,
  fellBehind,
  meanBlockBytes,
  scheduleLagMs,
  serviceTimeUs,
  takeSlot,
} from "../../src/engine/rate.js";

describe("open-loop rate schedule", () => {
  it("splits an iops rate across workers with evenly spread phase offsets", () => {
    // 1000 IOPS over 4 workers: each worker 250 IOPS = one command every 4 ms, offsets 0,1,2,3 ms
    const starts = [0, 1, 2, 3].map((w) =>
      createSchedule({ iops: 1000, bytesPerSec: null }, w, 4, 100, 4096),
    );
    expect(starts.map((s) => s.next)).toEqual([100, 101, 102, 103]);
    const all: number[] = [];
    for (const s of starts) for (let i = 0; i < 250; i++) all.push(takeSlot(s, 4096));
    all.sort((a, b) => a - b);
    // merged, the job issues exactly one command per millisecond
    for (let i = 0; i < all.length; i++) expect(all[i]).toBeCloseTo(100 + i, 9);
    expect(all.filter((t) => t < 1100).length).toBe(1000);
  });

  it("a bytes-per-second rate advances by each command's size", () => {
    const s = createSchedule({ iops: null, bytesPerSec: 1_000_000 }, 0, 1, 0, 1000);
    expect(takeSlot(s, 1000)).toBe(0); // 1000 bytes = 1 ms
    expect(takeSlot(s, 4000)).toBe(1); // 4000 bytes = 4 ms
    expect(takeSlot(s, 1000)).toBe(5);
    expect(s.next).toBe(6);
    // two workers: each gets half the bandwidth, the second starts half a mean-size interval later
    const w1 = createSchedule({ iops: null, bytesPerSec: 1_000_000 }, 1, 2, 0, 1000);
    expect(w1.next).toBe(1);
    expect(takeSlot(w1, 1000)).toBe(1);
    expect(w1.next).toBe(3);
  });

  it("refuses a schedule without a rate", () => {
    expect(() => createSchedule({ iops: null, bytesPerSec: null }, 0, 1, 0, 512)).toThrow(RangeError);
  });

  it("measures latency from the intended start (coordinated omission) and keeps the service time", () => {
    // intended at 10 ms, the queue was full until 25 ms, status at 27 ms
    expect(correctedLatencyUs(10, 25, 27)).toBeCloseTo(17_000, 6);
    expect(serviceTimeUs(25, 27)).toBeCloseTo(2_000, 6);
    // a command sent early (never happens, but never report less than the service time)
    expect(correctedLatencyUs(30, 25, 27)).toBeCloseTo(2_000, 6);
  });

  it("a stalled target accumulates corrected latency for every command it delayed", () => {
    // 1 command per ms, qd 1; the target stalls 100 ms on command 0, then answers in 0.1 ms
    const s = createSchedule({ iops: 1000, bytesPerSec: null }, 0, 1, 0, 512);
    let now = 0;
    const corrected: number[] = [];
    const service: number[] = [];
    for (let i = 0; i < 200; i++) {
      const intended = takeSlot(s, 512);
      const submit = Math.max(now, intended);
      const end = submit + (i === 0 ? 100 : 0.1);
      corrected.push(correctedLatencyUs(intended, submit, end));
      service.push(serviceTimeUs(submit, end));
      now = end;
    }
    // uncorrected: a single slow command; corrected: the ~100 commands queued behind it are slow too
    expect(service.filter((us) => us > 10_000).length).toBe(1);
    expect(corrected.filter((us) => us > 10_000).length).toBe(100); // command k waits 100 - 0.9k ms
    expect(corrected[1]).toBeCloseTo(99_100, 3);
  });

  it("detects a schedule that falls behind", () => {
    const s = createSchedule({ iops: 100, bytesPerSec: null }, 0, 1, 0, 512);
    expect(scheduleLagMs(s, 0)).toBe(0);
    takeSlot(s, 512); // next at 10 ms
    expect(scheduleLagMs(s, 5)).toBe(0);
    expect(scheduleLagMs(s, 510)).toBe(500);
    expect(fellBehind(500, 3000)).toBe(false); // < 1 s
    expect(fellBehind(1500, 3000)).toBe(true);
    expect(fellBehind(1500, 60_000)).toBe(false); // < 10 % of a minute
    expect(fellBehind(6500, 60_000)).toBe(true);
  });

  it("weights block sizes", () => {
    expect(
      meanBlockBytes([
        { bytes: 4096, weight: 70 },
        { bytes: 65536, weight: 30 },
      ]),
    ).toBeCloseTo(22528, 6);
    expect(meanBlockBytes([])).toBe(0);
  });
});
