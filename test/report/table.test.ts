import { describe, expect, it } from "vitest";
import { formatLatencyUs, renderSummaryTable } from "../../src/report/table.js";
import { buildFixtureResult, sampleResult } from "../result/fixture.js";

describe("summary table", () => {
  it("formats latencies with their unit", () => {
    expect(formatLatencyUs(850)).toBe("850µs");
    expect(formatLatencyUs(1234)).toBe("1.23ms");
    expect(formatLatencyUs(45_600)).toBe("45.6ms");
    expect(formatLatencyUs(2_500_000)).toBe("2.50s");
  });

  it("renders per job and total rows without colour", () => {
    const text = renderSummaryTable(sampleResult(), false);
    expect(text).not.toContain("\x1b[");
    const lines = text.split("\n");
    const header = lines.find((l) => l.includes("IOPS"))!;
    for (const h of [
      "job",
      "qd",
      "op",
      "MB/s",
      "MiB/s",
      "min",
      "mean",
      "p50",
      "p90",
      "p99",
      "p99.9",
      "p99.99",
      "max",
      "errors",
      "reconn",
    ]) {
      expect(header).toContain(h);
    }
    const reader = lines.find((l) => l.includes("reader"))!;
    const cells = reader
      .split("│")
      .map((c) => c.trim())
      .filter((c) => c !== "");
    // job, qd, op, IOPS, MB/s, MiB/s, min, mean, p50, p90, p99, p99.9, p99.99, max, errors, reconnects
    expect(cells.slice(0, 6)).toEqual(["reader", "32", "read", "1000", "131", "125"]);
    expect(cells[6]).toBe("400µs");
    expect(cells[14]).toBe("1");
    expect(cells[15]).toBe("0");
    expect(lines.some((l) => l.includes("total"))).toBe(true);
    expect(lines.some((l) => l.includes("write"))).toBe(false); // no writes: no write row
    expect(text).toContain("1 x MEDIUM ERROR: UNRECOVERED READ ERROR");
  });

  it("says when each step was measured several times", () => {
    expect(renderSummaryTable(sampleResult(), false)).not.toContain("--repeat");
    const two = buildFixtureResult({ reps: [[{ ios: 10, baseUs: 100 }], [{ ios: 12, baseUs: 100 }]] });
    const text = renderSummaryTable(two, false);
    expect(text).toContain(
      "each step measured 2 times (--repeat); the rows are the total of the repetitions",
    );
    expect(text.split("\n").find((l) => l.includes("reader"))).toContain("│ 11.0 │"); // 22 I/Os in 2 s
  });

  it("colours the header only when asked", () => {
    expect(renderSummaryTable(sampleResult(), true)).toContain("\x1b[");
  });
});
