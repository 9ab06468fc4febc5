import { describe, expect, it } from "vitest";
import { IntervalRecorder } from "../../src/engine/interval-recorder.js";
import { newRecoveryCounters } from "../../src/initiator/recovery-stats.js";
import { addPacked, newLatencyHistogram } from "../../src/result/histogram.js";

describe("IntervalRecorder", () => {
  it("counts a completion only inside [measureStart, end], by operation", () => {
    const r = new IntervalRecorder(null);
    r.window(1000, 3000);
    expect(r.complete(true, 4096, 900, 950, 999)).toBe(false); // in the ramp
    expect(r.complete(true, 4096, 900, 950, 1000)).toBe(true); // first instant of the window
    expect(r.complete(false, 8192, 2000, 2000, 2500)).toBe(true);
    expect(r.complete(true, 4096, 2900, 2950, 3000)).toBe(true); // last instant
    expect(r.complete(true, 4096, 2990, 2995, 3001)).toBe(false); // drained after the end
    const iv = r.snapshot(3000, 0);
    expect(iv.ms).toBe(2000);
    expect(iv.read.ios).toBe(2);
    expect(iv.read.bytes).toBe(8192);
    expect(iv.write.ios).toBe(1);
    expect(iv.write.bytes).toBe(8192);
    // latency from the intended start (900 -> 1000 = 100 ms), service from the submission (50 ms)
    const lat = newLatencyHistogram();
    const svc = newLatencyHistogram();
    addPacked(lat, iv.read.latency);
    addPacked(svc, iv.read.service);
    expect(lat.totalCount).toBe(2);
    expect(lat.maxValue).toBeGreaterThanOrEqual(99_000);
    expect(svc.maxValue).toBeLessThan(51_000);
  });

  it("cuts intervals that start where the previous ended and resets the counters", () => {
    const r = new IntervalRecorder(null);
    r.window(0, 10_000);
    r.complete(true, 512, 10, 10, 20);
    r.error("MEDIUM ERROR");
    r.error("MEDIUM ERROR");
    r.error("TRANSPORT: reset");
    const a = r.snapshot(1000, 0);
    expect(a).toMatchObject({ type: "interval", index: 0, ramp: false, ms: 1000, errors: 3 });
    expect(a.read.ios).toBe(1);
    const b = r.snapshot(1500, 1);
    expect(b.ms).toBe(500);
    expect(b.read.ios).toBe(0);
    expect(b.errors).toBe(0);
    expect(Object.fromEntries(r.errorsBySense)).toEqual({ "MEDIUM ERROR": 2, "TRANSPORT: reset": 1 });
    r.error("late");
    expect(r.pendingErrors).toBe(1);
  });

  it("reports each interval's outage and reconnects from the session's counters, an ongoing outage included", () => {
    const c = newRecoveryCounters();
    const r = new IntervalRecorder(c);
    r.window(1000, 10_000);
    // an outage of 300 ms during the ramp: not in any interval
    c.outageMs = 300;
    r.beginMeasuring(1000);
    // second 0: connected
    expect(r.snapshot(2000, 0)).toMatchObject({ outageMs: 0, reconnects: 0 });
    // second 1: the connection drops at 2600 and is still down at 3000
    c.downSince = 2600;
    expect(r.snapshot(3000, 1)).toMatchObject({ outageMs: 400, reconnects: 0 });
    // second 2: down all the time
    expect(r.snapshot(4000, 2)).toMatchObject({ outageMs: 1000, reconnects: 0 });
    // second 3: back at 4250 (the session moves the outage into outageMs)
    c.outageMs += 4250 - 2600;
    c.downSince = -1;
    c.reconnects = 1;
    expect(r.snapshot(5000, 3)).toMatchObject({ outageMs: 250, reconnects: 1 });
    expect(r.snapshot(6000, 4)).toMatchObject({ outageMs: 0, reconnects: 0 });
  });

  it("never reports more outage than the interval lasted", () => {
    const c = newRecoveryCounters();
    const r = new IntervalRecorder(c);
    r.window(0, 5000);
    r.beginMeasuring(0);
    c.downSince = 0;
    expect(r.snapshot(1000, 0).outageMs).toBe(1000);
    expect(r.snapshot(1200, 1).outageMs).toBe(200);
    // an outage the session books at once, longer than the interval
    c.downSince = -1;
    c.outageMs = 1200 + 1500;
    expect(r.snapshot(2200, 2).outageMs).toBe(1000);
    expect(r.snapshot(3200, 3).outageMs).toBe(0);
  });
});
