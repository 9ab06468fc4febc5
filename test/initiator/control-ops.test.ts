import { describe, expect, it } from "vitest";
import { ControlOps } from "../../src/initiator/control-ops.js";

describe("control operations", () => {
  it("hands out distinct control ITTs with bit 31 set, never the reserved tag, also while many are open", () => {
    const ops = new ControlOps();
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const { itt, promise } = ops.create("nop", 0, null);
      promise.catch(() => {});
      expect(itt & 0x80000000).not.toBe(0);
      expect(itt).not.toBe(0xffffffff);
      expect(seen.has(itt)).toBe(false);
      seen.add(itt);
    }
    expect(ops.size).toBe(1000);
  });

  it("take() removes only an operation of the kind asked for", async () => {
    const ops = new ControlOps();
    const tmf = ops.create("tmf", 0, null);
    expect(ops.take(tmf.itt, "nop")).toBeNull();
    const op = ops.take(tmf.itt, "tmf");
    expect(op).not.toBeNull();
    expect(ops.size).toBe(0);
    op!.resolve(0);
    expect(await tmf.promise).toBe(0);
  });

  it("a refused operation is rejected at once and not registered; rejectAll keeps what it is told to", async () => {
    const ops = new ControlOps();
    const refused = ops.create("text", 0, new Error("no connection"));
    await expect(refused.promise).rejects.toThrow("no connection");
    expect(ops.size).toBe(0);
    const a = ops.create("logout", 0, null);
    const b = ops.create("nop", 0, null);
    ops.rejectAll(new Error("lost"), (op) => op.kind === "logout");
    await expect(b.promise).rejects.toThrow("lost");
    expect(ops.size).toBe(0);
    let settled = false;
    a.promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
  });
});
