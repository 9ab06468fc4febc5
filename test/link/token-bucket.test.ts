/**
 * The token bucket against a fake clock: over 100 simulated seconds its rate is within 1 % of
 * nominal for several rates and chunk sizes, whether the caller waits exactly, polls on a coarse
 * jittery tick, or reserves ahead (the relay's way).
 */
import { describe, expect, it } from "vitest";
import { defaultBurstBytes, TokenBucket } from "../../src/link/token-bucket.js";

class FakeClock {
  t = 0;
  now(): number {
    return this.t;
  }
}

/** A deterministic pseudo-random sequence (xorshift32) in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const SIM_MS = 100_000;

// [bytes/s, chunk bytes]: 100 kbit/s to 1 Gbit/s; chunks of a lone header frame, a full frame, a
// 64 KiB read, and one bigger than the bucket; at most ~1e6 steps each.
const CASES: [number, number][] = [
  [12_500, 138],
  [1_250_000, 138],
  [1_250_000, 1538],
  [12_500_000, 1538],
  [12_500_000, 69_676],
  [125_000_000, 69_676],
  [125_000_000, 262_144],
];

describe("TokenBucket", () => {
  it("starts full, refills at its rate and holds at most its burst", () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ bytesPerSec: 1000, burstBytes: 3076, clock });
    expect(b.available()).toBe(3076);
    expect(b.take(3000)).toBe(true);
    expect(b.available()).toBe(76);
    expect(b.delayUntilAvailable(1076)).toBeCloseTo(1000, 9);
    expect(b.take(1076)).toBe(false);
    clock.t = 1000;
    expect(b.take(1076)).toBe(true);
    clock.t = 1_000_000;
    expect(b.available()).toBe(3076);
  });

  it("lets a chunk bigger than the bucket go when it is full, into debt", () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ bytesPerSec: 1000, burstBytes: 100, clock });
    expect(b.take(600)).toBe(true);
    expect(b.debt()).toBe(500);
    // 500 of debt + 100 to fill the bucket for the next big chunk: 600 ms.
    expect(b.delayUntilAvailable(600)).toBeCloseTo(600, 9);
  });

  it("reserve() returns when the reserved bytes have left", () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ bytesPerSec: 1_000_000, burstBytes: 1000, clock });
    expect(b.reserve(1000)).toBe(0);
    // 5000 more at 1 MB/s: the first ends 1 ms later, the last 5 ms later.
    expect(b.reserve(1000)).toBeCloseTo(1, 9);
    for (let i = 0; i < 3; i++) b.reserve(1000);
    expect(b.reserve(1000)).toBeCloseTo(5, 9);
    clock.t = 2;
    expect(b.debt()).toBeCloseTo(3000, 6);
  });

  it("defaults its burst to two full frames", () => {
    expect(defaultBurstBytes()).toBe(3076);
    expect(defaultBurstBytes(9000)).toBe(18_076);
    expect(new TokenBucket({ bytesPerSec: 1 }).burstBytes).toBe(3076);
  });

  it("rejects a rate or burst that is not positive", () => {
    expect(() => new TokenBucket({ bytesPerSec: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ bytesPerSec: 1, burstBytes: 0 })).toThrow(RangeError);
  });

  it.each(CASES)("waiting exactly: %d B/s in %d-byte chunks, 100 s, within 1 percent", (rate, chunk) => {
    const clock = new FakeClock();
    const b = new TokenBucket({ bytesPerSec: rate, clock });
    let sent = 0;
    let refused = 0;
    for (let i = 0; i < 2_000_000; i++) {
      clock.t += b.delayUntilAvailable(chunk);
      if (clock.t > SIM_MS) break;
      if (b.take(chunk)) sent += chunk;
      else refused++;
    }
    expect(refused).toBe(0);
    expect(clock.t).toBeGreaterThan(SIM_MS);
    const measured = sent / (SIM_MS / 1000);
    expect(Math.abs(measured / rate - 1)).toBeLessThan(0.01);
  });

  it.each(CASES)("polling on a jittery 0.5–1.5 ms tick: %d B/s in %d-byte chunks", (rate, chunk) => {
    // A poller loses whatever the bucket cannot hold between two ticks, so its bucket must hold a
    // chunk plus a tick's worth (here 2 ms); the relay does not poll, it reserves (below).
    const clock = new FakeClock();
    const random = rng(rate ^ chunk);
    const b = new TokenBucket({ bytesPerSec: rate, burstBytes: chunk + rate * 0.002, clock });
    let sent = 0;
    for (let ticks = 0; ticks < 400_000 && clock.t < SIM_MS; ticks++) {
      for (let n = 0; n < 10_000 && b.take(chunk); n++) sent += chunk;
      clock.t += 0.5 + random();
    }
    const measured = sent / (clock.t / 1000);
    expect(Math.abs(measured / rate - 1)).toBeLessThan(0.01);
  });

  it.each(CASES)("reserving ahead under 2× overload: %d B/s in %d-byte chunks", (rate, chunk) => {
    // Chunks arrive at random times at twice the rate; the last departure shows the rate carried.
    const clock = new FakeClock();
    const random = rng(rate + chunk);
    const b = new TokenBucket({ bytesPerSec: rate, clock });
    const meanGapMs = ((chunk / rate) * 1000) / 2;
    let sent = 0;
    let lastDeparture = 0;
    while (clock.t < SIM_MS / 2) {
      lastDeparture = clock.t + b.reserve(chunk);
      sent += chunk;
      clock.t += 2 * meanGapMs * random();
    }
    const measured = sent / (lastDeparture / 1000);
    expect(Math.abs(measured / rate - 1)).toBeLessThan(0.01);
    expect(lastDeparture).toBeGreaterThan(SIM_MS * 0.99);
  });
});
