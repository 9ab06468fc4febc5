import { describe, expect, it } from "vitest";
import { buildReportData, type LineChart, outageMarks } from "../../src/report/html/data.js";
import { buildFixtureResult, sampleResult } from "../result/fixture.js";

describe("HTML report: outage on the timeline", () => {
  const withOutage = () =>
    buildFixtureResult({
      reps: [
        [
          { ios: 1000, baseUs: 400 },
          { ios: 300, baseUs: 400, outageMs: 600, reconnects: 1 },
          { ios: 0, baseUs: 400, outageMs: 1000 },
          { ios: 800, baseUs: 400, outageMs: 300, reconnects: 1 },
          { ios: 1000, baseUs: 400 },
          { ios: 900, baseUs: 400, outageMs: 50, reconnects: 1 },
        ],
      ],
    });

  it("marks each run of seconds with outage at its start, with the outage and reconnects it adds up to", () => {
    expect(outageMarks(withOutage(), 2)).toEqual([
      { x: 1, label: "outage 1.9 s, 2 reconnects", group: 2, kind: "outage" },
      { x: 5, label: "outage 0.1 s, 1 reconnect", group: 2, kind: "outage" },
    ]);
    expect(outageMarks(sampleResult(), 0)).toEqual([]);
  });

  it("shows the marks on the throughput and IOPS charts", () => {
    const data = buildReportData([
      { label: "a", path: "a.json", result: withOutage(), missing: [], baseline: false },
    ]);
    for (const id of ["throughput", "iops"]) {
      const c = data.charts.find((x) => x.id === id) as LineChart;
      expect(c.marks.filter((m) => m.kind === "outage").map((m) => m.x)).toEqual([1, 5]);
    }
  });
});
