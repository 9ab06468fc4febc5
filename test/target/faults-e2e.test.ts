/**
 * Fault injection end to end: the built-in target with --fault specs, watched on the wire by a raw
 * initiator that neither retries nor recovers (test/target/raw-initiator.ts), so each test sees
 * exactly what the target did. Every fault must also log one line when it fires.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type AsyncMessage, Opcode, TmfFunction } from "../../src/iscsi/pdu.js";
import { ConnectionFaultCounter, parseFaultSpecs } from "../../src/target/faults.js";
import { type RunningTarget, startTargetInProcess } from "../../src/target/index.js";
import { inquiry, RawInitiator, read10, TEST_UNIT_READY } from "./raw-initiator.js";

const IQN = "iqn.2026-11.io.iscsi-bench:faults";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:faults-client";

let targets: RunningTarget[] = [];
let clients: RawInitiator[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  for (const t of targets) await t.stop();
  targets = [];
  clients = [];
});

async function target(faults: string[], seed?: number): Promise<{ t: RunningTarget; log: string[] }> {
  const log: string[] = [];
  const t = await startTargetInProcess(
    { port: 0, iqn: IQN, luns: [{ kind: "memory", sizeBytes: 4 * 1024 * 1024 }], faults, faultSeed: seed },
    { log: (line) => log.push(line) },
  );
  targets.push(t);
  return { t, log };
}

async function connect(t: RunningTarget, isid = 0x800000000001, digests = false): Promise<RawInitiator> {
  const c = await RawInitiator.login({
    port: t.port,
    targetName: IQN,
    initiatorName: INITIATOR,
    isid,
    digests,
  });
  clients.push(c);
  expect(c.loginStatus).toBe(0);
  return c;
}

async function statuses(c: RawInitiator, n: number): Promise<number[]> {
  const itts = Array.from({ length: n }, () => c.command(TEST_UNIT_READY));
  const out: number[] = [];
  for (const itt of itts) out.push((await c.result(itt)).status);
  return out;
}

describe("fault injection in the built-in target", () => {
  it("busy=30 answers about 30 % BUSY, exactly the seeded sequence, the same on every run", async () => {
    const n = 300;
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { t, log } = await target(["busy=30"], 7);
      runs.push(await statuses(await connect(t), n));
      expect(log.filter((l) => l.startsWith("fault busy=30: BUSY")).length).toBe(
        runs[run]!.filter((s) => s === 8).length,
      );
    }
    expect(runs[1]).toEqual(runs[0]);
    const predicted = new ConnectionFaultCounter(parseFaultSpecs(["busy=30"]), 7, 0);
    expect(runs[0]).toEqual(Array.from({ length: n }, () => Math.max(predicted.onCommand(0x00), 0)));
    const share = runs[0]!.filter((s) => s === 0x08).length / n;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    expect(new Set(runs[0])).toEqual(new Set([0, 8]));
  });

  it("task-set-full=100 answers every command TASK SET FULL but leaves INQUIRY alone", async () => {
    const { t } = await target(["task-set-full=100"]);
    const c = await connect(t);
    expect(await statuses(c, 5)).toEqual([0x28, 0x28, 0x28, 0x28, 0x28]);
    expect((await c.result(c.command(inquiry(), 96))).status).toBe(0);
    const r = await c.result(c.command(read10(0, 1), 512));
    expect(r.status).toBe(0x28);
    expect(r.data.length).toBe(0);
  });

  it("close-after=3 answers three commands, then closes the connection; a new connection meets it again", async () => {
    const { t, log } = await target(["close-after=3"]);
    for (let conn = 0; conn < 2; conn++) {
      const c = await connect(t, 0x800000000010 + conn);
      expect(await statuses(c, 3)).toEqual([0, 0, 0]);
      await c.closedAt;
      expect(c.closed).toBe(true);
    }
    expect(log.filter((l) => l.startsWith("fault close-after=3: closing")).length).toBe(2);
  });

  it("stall=600ms holds the responses to the first command for the stall", async () => {
    const { t, log } = await target(["stall=600ms"]);
    const c = await connect(t);
    const start = performance.now();
    const itt = c.command(TEST_UNIT_READY);
    expect((await c.result(itt, 5000)).status).toBe(0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(600);
    // once: the next command is answered without a stall (bounded, not timed)
    expect((await c.result(c.command(TEST_UNIT_READY), 5000)).status).toBe(0);
    expect(log.some((l) => l.startsWith("fault stall=600ms: holding every response of 1 connection"))).toBe(
      true,
    );
    expect(log.some((l) => l.startsWith("fault stall=600ms: released 1 held PDU"))).toBe(true);
  });

  it("drop-response=2 never answers the second command; it stays in the task set until ABORT TASK", async () => {
    const { t, log } = await target(["drop-response=2"]);
    const c = await connect(t);
    const itts = [c.command(TEST_UNIT_READY), c.command(read10(0, 1), 512), c.command(TEST_UNIT_READY)];
    expect((await c.result(itts[0]!)).status).toBe(0);
    expect((await c.result(itts[2]!)).status).toBe(0);
    await expect(c.result(itts[1]!, 500)).rejects.toThrow("no matching PDU");
    expect(c.pdus.some((p) => "itt" in p && p.itt === itts[1])).toBe(false);
    c.send({
      opcode: Opcode.TaskMgmtRequest,
      immediate: true,
      function: TmfFunction.AbortTask,
      lun: 0n,
      itt: 100,
      referencedTaskTag: itts[1]!,
      cmdSN: 4,
      expStatSN: 0,
      refCmdSN: 2,
      expDataSN: 0,
    });
    const tmf = await c.next((p) => p.opcode === Opcode.TaskMgmtResponse && p.itt === 100, 5000);
    expect((tmf as { response: number }).response).toBe(0); // function complete: the task was there
    expect(log.some((l) => l.startsWith("fault drop-response=2: never answering command 2"))).toBe(true);
  });

  it("corrupt-digest=2 sends the second Data-In with a wrong data digest (digests on)", async () => {
    const { t, log } = await target(["corrupt-digest=2"]);
    const c = await connect(t, 0x800000000020, true);
    const itts = [c.command(read10(0, 1), 512), c.command(read10(1, 1), 512), c.command(read10(2, 1), 512)];
    expect((await c.result(itts[0]!)).status).toBe(0);
    expect((await c.result(itts[2]!)).status).toBe(0);
    expect(c.malformed.map((e) => e.kind)).toEqual(["dataDigest"]);
    expect(c.pdus.filter((p) => p.opcode === Opcode.DataIn).length).toBe(2);
    expect(log.some((l) => l.startsWith("fault corrupt-digest=2: a wrong data digest on Data-In 2"))).toBe(
      true,
    );
  });

  it("corrupt-digest without data digests logs that there is nothing to corrupt", async () => {
    const { t, log } = await target(["corrupt-digest=1"]);
    const c = await connect(t);
    expect((await c.result(c.command(read10(0, 1), 512))).status).toBe(0);
    expect(c.malformed).toEqual([]);
    expect(log.some((l) => l.includes("negotiated no data digest"))).toBe(true);
  });

  it("async-logout=200ms,within=1s sends AsyncEvent 1 with Parameter3 1, then closes a connection that stays", async () => {
    const { t, log } = await target(["async-logout=200ms,within=1s"]);
    const c = await connect(t);
    const msg = (await c.next((p) => p.opcode === Opcode.AsyncMessage, 5000)) as AsyncMessage;
    expect(msg.asyncEvent).toBe(1);
    expect(msg.parameter3).toBe(1);
    await c.closedAt;
    expect(log.some((l) => l.includes("did not log out within 1 s"))).toBe(true);
  });

  it("unit-attention=100ms: the next command gets CHECK CONDITION / UNIT ATTENTION 29h/00h, once; INQUIRY passes", async () => {
    const { t, log } = await target(["unit-attention=100ms"]);
    const c = await connect(t);
    expect(await c.until(() => log.some((l) => l.startsWith("fault unit-attention")), 5000)).toBe(true);
    expect((await c.result(c.command(inquiry(), 96))).status).toBe(0);
    const r = await c.result(c.command(TEST_UNIT_READY));
    expect(r.status).toBe(2);
    expect(r.sense![2]! & 0x0f).toBe(6);
    expect(r.sense![12]).toBe(0x29);
    expect(r.sense![13]).toBe(0x00);
    expect((await c.result(c.command(TEST_UNIT_READY))).status).toBe(0);
  });

  it("close-every=300ms closes each connection that long after its login", async () => {
    const { t, log } = await target(["close-every=300ms"]);
    const c = await connect(t);
    expect((await c.result(c.command(TEST_UNIT_READY))).status).toBe(0);
    await c.closedAt;
    expect(log.some((l) => l.startsWith("fault close-every=300ms: closing"))).toBe(true);
  });
});
