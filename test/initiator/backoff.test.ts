import { describe, expect, it } from "vitest";
import { createBackoff } from "../../src/initiator/backoff.js";

describe("reinstatement backoff", () => {
  it("doubles from the first delay to the cap, each delay jittered within [base/2, base]", () => {
    const lo = createBackoff(250, 5000, () => 0);
    const hi = createBackoff(250, 5000, () => 0.999999);
    const bases = [250, 500, 1000, 2000, 4000, 5000, 5000];
    bases.forEach((base, i) => {
      expect(lo.delayMs(i + 1)).toBeCloseTo(base / 2, 6);
      expect(hi.delayMs(i + 1)).toBeCloseTo(base, 2);
    });
  });

  it("spreads initiators that retry at the same attempt", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const b = createBackoff(250, 5000, random);
    const draws = Array.from({ length: 200 }, () => b.delayMs(3));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1000);
    expect(new Set(draws.map((d) => Math.round(d / 50))).size).toBeGreaterThan(5);
  });
});
