import { describe, expect, it } from "vitest";
import { parseRecoveryOptions } from "../../src/commands/run-recovery.js";
import { InputError } from "../../src/common/errors.js";

describe("run's recovery options", () => {
  it("default to 120 s recovery, 30 s command and 10 s NOP-Out timeouts", () => {
    expect(parseRecoveryOptions({})).toEqual({
      recoveryTimeoutMs: 120_000,
      commandTimeoutMs: 30_000,
      noopTimeoutMs: 10_000,
    });
  });

  it("take durations; a recovery timeout of 0 fails at once", () => {
    expect(
      parseRecoveryOptions({ recoveryTimeout: "0", commandTimeout: "500ms", noopTimeout: "2s" }),
    ).toEqual({ recoveryTimeoutMs: 0, commandTimeoutMs: 500, noopTimeoutMs: 2000 });
    expect(parseRecoveryOptions({ recoveryTimeout: "2m" }).recoveryTimeoutMs).toBe(120_000);
  });

  it("refuse bad values with one line naming the option", () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ recoveryTimeout: "x" }, "--recovery-timeout: expected a duration"],
      [{ commandTimeout: "0s" }, '--command-timeout: must be more than 0, got "0s"'],
      [{ noopTimeout: "0" }, '--noop-timeout: must be more than 0, got "0"'],
      [{ commandTimeout: "2d" }, '--command-timeout: at most 24h, got "2d"'],
      [{ noopTimeout: "48h" }, '--noop-timeout: at most 24h, got "48h"'],
    ];
    for (const [o, msg] of bad) {
      let caught: unknown;
      try {
        parseRecoveryOptions(o);
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(o)).toBeInstanceOf(InputError);
      expect((caught as Error).message).toContain(msg);
      expect((caught as Error).message).not.toContain("\n");
    }
  });
});
