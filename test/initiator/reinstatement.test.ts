import { describe, expect, it } from "vitest";
import { LoginError, SessionError } from "../../src/initiator/errors.js";
import { Reinstatement } from "../../src/initiator/reinstatement.js";

function plan(attempt: (n: number) => void, deadlineMs: number, firstDelayMs = 0) {
  let n = 0;
  const calls: number[] = [];
  const start = performance.now();
  return {
    calls,
    plan: {
      deadline: start + deadlineMs,
      firstDelayMs,
      nextDelayMs: () => 20,
      loginTimeoutMs: 1000,
      attempt: async (timeoutMs: number) => {
        calls.push(timeoutMs);
        attempt(++n);
      },
    },
  };
}

describe("reinstatement loop", () => {
  it("retries after failures until a login works", async () => {
    const p = plan((n) => {
      if (n < 3) throw new SessionError("cannot connect: ECONNREFUSED");
    }, 5000);
    expect(await new Reinstatement().run(p.plan)).toEqual({ kind: "done" });
    expect(p.calls).toHaveLength(3);
  });

  it("gives up at the deadline with the last error, never starting a login after it", async () => {
    const started = performance.now();
    const p = plan(() => {
      throw new SessionError("cannot connect: ECONNREFUSED");
    }, 200);
    const out = await new Reinstatement().run(p.plan);
    expect(out).toEqual({ kind: "gave-up", lastError: "cannot connect: ECONNREFUSED" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    // each login may take only what is left of the recovery time
    for (const t of p.calls) expect(t).toBeLessThanOrEqual(200);
  });

  it("stops at once on wrong credentials", async () => {
    const p = plan(() => {
      throw new LoginError(2, 1);
    }, 5000);
    expect(await new Reinstatement().run(p.plan)).toEqual({
      kind: "gave-up",
      lastError: "authentication failed",
    });
    expect(p.calls).toHaveLength(1);
  });

  it("cancel() ends the wait without another login", async () => {
    const r = new Reinstatement();
    const p = plan(() => {}, 60_000, 30_000);
    const started = performance.now();
    const running = r.run(p.plan);
    setTimeout(() => r.cancel(), 20);
    expect(await running).toEqual({ kind: "cancelled" });
    expect(p.calls).toHaveLength(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
