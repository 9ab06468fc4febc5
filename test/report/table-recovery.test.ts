import { describe, expect, it } from "vitest";
import { recoveryLine, renderSummaryTable } from "../../src/report/table.js";
import { newRecoveryReport } from "../../src/result/reduce.js";
import { buildFixtureResult, sampleResult } from "../result/fixture.js";

describe("summary table: the recovery line", () => {
  it("says what recovery did, only the counts that are nonzero", () => {
    const r = { ...newRecoveryReport(), reconnects: 10, reinstatements: 10, reissued: 37, outageMs: 1940 };
    expect(recoveryLine(r)).toBe(
      "recovery: 10 reconnects (10 reinstatements), 37 commands re-issued, outage 1.9 s",
    );
    expect(
      recoveryLine({
        ...newRecoveryReport(),
        reconnects: 1,
        reinstatements: 1,
        aborts: 2,
        commandTimeouts: 2,
        unitAttentions: 1,
        busyRetries: 1,
        recoveredBlocks: 8,
      }),
    ).toBe(
      "recovery: 1 reconnect (1 reinstatement), 2 command timeouts, 2 aborts, 1 unit attention consumed, 1 BUSY/TASK SET FULL retry, 8 blocks recovered (checked again)",
    );
    expect(recoveryLine(newRecoveryReport())).toBeNull();
    expect(recoveryLine(undefined)).toBeNull();
  });

  it("is printed under the table when anything happened, and not otherwise", () => {
    expect(renderSummaryTable(sampleResult(), false)).not.toContain("recovery:");
    const text = renderSummaryTable(
      buildFixtureResult({
        reps: [
          [
            { ios: 1000, baseUs: 400 },
            { ios: 500, baseUs: 400, outageMs: 650, reconnects: 1 },
          ],
        ],
      }),
      false,
    );
    expect(text.split("\n")).toContain("recovery: 1 reconnect (1 reinstatement), outage 0.7 s");
  });
});
