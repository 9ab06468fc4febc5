/**
 * Session logic against a scripted peer: the CmdSN window (never past MaxCmdSN, queue inside,
 * wrap-around), R2T answered with correctly sized Data-Out sequences, Data-In checks, NOP-In
 * answered, Reject failing the referenced task, UNIT ATTENTIONs consumed and counted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SessionError } from "../../src/initiator/errors.js";
import { type InitiatorSession, openSessionOfType } from "../../src/initiator/session.js";
import { newScsiTask, type ScsiTask } from "../../src/initiator/task.js";
import type { DataOut, NopOut, ScsiCommand } from "../../src/iscsi/pdu.js";
import { type FakeTarget, startFakeTarget } from "./fake-target.js";

const OPERATIONAL =
  "HeaderDigest=None DataDigest=None MaxRecvDataSegmentLength=1024 InitialR2T=Yes ImmediateData=No MaxBurstLength=4096 FirstBurstLength=2048 MaxOutstandingR2T=2 DefaultTime2Wait=2 DefaultTime2Retain=0 DataPDUInOrder=Yes DataSequenceInOrder=Yes ErrorRecoveryLevel=0 MaxConnections=1";

let fake: FakeTarget | null = null;
let session: InitiatorSession | null = null;
afterEach(async () => {
  session?.close();
  await fake?.close();
  fake = null;
  session = null;
});

async function setup(expCmdSN: number, maxCmdSN: number): Promise<{ t: FakeTarget; s: InitiatorSession }> {
  fake = await startFakeTarget({ operational: OPERATIONAL, expCmdSN, maxCmdSN });
  session = await openSessionOfType({
    host: "127.0.0.1",
    port: fake.port,
    targetName: "iqn.2026-11.test:fake",
    sessionType: "Normal",
    initiatorName: "iqn.2026-11.test:ini",
    timeoutMs: 5000,
    nopIntervalMs: 0,
    initialCmdSN: expCmdSN,
    // these cases are about what ends a connection; recovery has its own tests
    recoveryTimeoutMs: 0,
  });
  return { t: fake, s: session };
}

function readTask(len: number, done: (t: ScsiTask) => void): ScsiTask {
  const t = newScsiTask(done);
  t.cdb[0] = 0x28;
  t.cdbLength = 10;
  t.dataIn = Buffer.alloc(len);
  t.dataInLength = len;
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("initiator session against a scripted target", () => {
  it("negotiates from the login response", async () => {
    const { s } = await setup(1, 10);
    expect(s.negotiated).toMatchObject({
      peerMaxRecvDataSegmentLength: 1024,
      maxRecvDataSegmentLength: 262144,
      initialR2T: true,
      immediateData: false,
      maxBurstLength: 4096,
      firstBurstLength: 2048,
    });
    expect(s.tsih).toBe(7);
  });

  it("never sends past MaxCmdSN, queues inside, and drains when the window opens (across 2^32 wrap)", async () => {
    const start = 0xfffffffe;
    const { t, s } = await setup(start, start + 1); // window of 2: 0xfffffffe, 0xffffffff
    const done: ScsiTask[] = [];
    for (let i = 0; i < 5; i++) s.submit(readTask(4, (x) => done.push(x)));
    await t.waitFor(2);
    await sleep(50);
    expect(t.received.length).toBe(2);
    expect(s.queued).toBe(3);
    expect(s.inFlight).toBe(2);
    // Complete the first with a Data-In carrying status, opening the window by 3 (MaxCmdSN wraps to 2).
    const send = (cmd: ScsiCommand, maxCmdSN: number) =>
      t.send({
        opcode: 0x25,
        final: true,
        ack: false,
        bidiOverflow: false,
        bidiUnderflow: false,
        overflow: false,
        underflow: false,
        hasStatus: true,
        status: 0,
        lun: 0n,
        itt: cmd.itt,
        ttt: 0xffffffff,
        statSN: t.statSN++,
        expCmdSN: (cmd.cmdSN + 1) >>> 0,
        maxCmdSN: maxCmdSN >>> 0,
        dataSN: 0,
        bufferOffset: 0,
        residualCount: 0,
        data: Buffer.from([1, 2, 3, 4]),
      });
    send(t.received[0] as ScsiCommand, 2);
    await t.waitFor(5);
    const sns = t.received.map((p) => (p as ScsiCommand).cmdSN);
    expect(sns).toEqual([0xfffffffe, 0xffffffff, 0, 1, 2]);
    // A stale (older) MaxCmdSN must not shrink the window.
    for (let i = 1; i < 5; i++) send(t.received[i] as ScsiCommand, 1);
    while (done.length < 5) await sleep(5);
    for (const x of done) {
      expect(x.error).toBeNull();
      expect(x.status).toBe(0);
      expect([...x.dataIn!]).toEqual([1, 2, 3, 4]);
    }
    expect(s.sequenceState.expStatSN).toBe(t.statSN);
  });

  it("answers R2Ts with Data-Out sequences no larger than the target's MaxRecvDataSegmentLength", async () => {
    const { t, s } = await setup(1, 10);
    const payload = Buffer.alloc(5000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    let finished: ScsiTask | null = null;
    const task = newScsiTask((x) => {
      finished = x;
    });
    task.cdb[0] = 0x2a;
    task.cdbLength = 10;
    task.dataOut = payload;
    task.dataOutLength = payload.length;
    s.submit(task);
    await t.waitFor(1);
    const cmd = t.received[0] as ScsiCommand;
    expect(cmd.data.length).toBe(0); // ImmediateData=No
    expect(cmd.final).toBe(true); // InitialR2T=Yes: no unsolicited data
    expect(cmd.expectedDataTransferLength).toBe(5000);
    // Two R2Ts outstanding at once (MaxOutstandingR2T=2): [0, 4096) and [4096, 5000).
    const r2t = (sn: number, ttt: number, off: number, len: number) =>
      t.send({
        opcode: 0x31,
        lun: 0n,
        itt: cmd.itt,
        ttt,
        statSN: t.statSN,
        expCmdSN: 2,
        maxCmdSN: 10,
        r2tSN: sn,
        bufferOffset: off,
        desiredDataTransferLength: len,
      });
    r2t(0, 0x1000, 0, 4096);
    r2t(1, 0x2000, 4096, 904);
    await t.waitFor(1 + 4 + 1);
    const outs = t.received.slice(1) as DataOut[];
    expect(outs.map((d) => [d.ttt, d.dataSN, d.bufferOffset, d.data.length, d.final])).toEqual([
      [0x1000, 0, 0, 1024, false],
      [0x1000, 1, 1024, 1024, false],
      [0x1000, 2, 2048, 1024, false],
      [0x1000, 3, 3072, 1024, true],
      [0x2000, 0, 4096, 904, true],
    ]);
    expect(Buffer.concat(outs.map((d) => d.data)).equals(payload)).toBe(true);
    t.send({
      opcode: 0x21,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: false,
      response: 0,
      status: 0,
      itt: cmd.itt,
      snackTag: 0,
      statSN: t.statSN++,
      expCmdSN: 2,
      maxCmdSN: 10,
      expDataSN: 0,
      bidiReadResidualCount: 0,
      residualCount: 0,
      data: Buffer.alloc(0),
    });
    while (!finished) await sleep(5);
    expect((finished as ScsiTask).status).toBe(0);
  });

  it("fails the session on a Data-In outside the task's buffer", async () => {
    const { t, s } = await setup(1, 10);
    let failed: ScsiTask | null = null;
    let closedWith: Error | null = null;
    s.onClose = (e) => {
      closedWith = e;
    };
    s.submit(readTask(8, (x) => (failed = x)));
    await t.waitFor(1);
    const cmd = t.received[0] as ScsiCommand;
    t.send({
      opcode: 0x25,
      final: false,
      ack: false,
      bidiOverflow: false,
      bidiUnderflow: false,
      overflow: false,
      underflow: false,
      hasStatus: false,
      status: 0,
      lun: 0n,
      itt: cmd.itt,
      ttt: 0xffffffff,
      statSN: 0,
      expCmdSN: 2,
      maxCmdSN: 10,
      dataSN: 0,
      bufferOffset: 6,
      residualCount: 0,
      data: Buffer.alloc(4),
    });
    while (!failed || !closedWith) await sleep(5);
    expect((failed as ScsiTask).error).toBeInstanceOf(SessionError);
    expect((closedWith as Error).message).toMatch(
      /Data-In at offset 6 length 4 is outside the expected 8 bytes/,
    );
  });

  it("answers a target NOP-In ping with its TTT and data, and consumes up to four UNIT ATTENTIONs", async () => {
    const { t, s } = await setup(1, 10);
    t.send({
      opcode: 0x20,
      lun: 0n,
      itt: 0xffffffff,
      ttt: 0xabc,
      statSN: t.statSN,
      expCmdSN: 1,
      maxCmdSN: 10,
      data: Buffer.from("ping"),
    });
    await t.waitFor(1);
    const nop = t.received[0] as NopOut;
    expect(nop.opcode).toBe(0x00);
    expect(nop.ttt).toBe(0xabc);
    expect(nop.itt).toBe(0xffffffff);
    expect(nop.data.toString()).toBe("ping");
    // UNIT ATTENTION: fixed sense, key 6, ASC 0x29 -> the same command is sent again.
    let result: ScsiTask | null = null;
    s.submit(readTask(4, (x) => (result = x)));
    await t.waitFor(2);
    const first = t.received[1] as ScsiCommand;
    const sense = Buffer.alloc(20);
    sense.writeUInt16BE(18, 0);
    sense[2] = 0x70;
    sense[4] = 0x06;
    sense[9] = 10;
    sense[14] = 0x29;
    const checkCondition = (itt: number, cmdSN: number) =>
      t.send({
        opcode: 0x21,
        bidiOverflow: false,
        bidiUnderflow: false,
        overflow: false,
        underflow: false,
        response: 0,
        status: 2,
        itt,
        snackTag: 0,
        statSN: t.statSN++,
        expCmdSN: (cmdSN + 1) >>> 0,
        maxCmdSN: 20,
        expDataSN: 0,
        bidiReadResidualCount: 0,
        residualCount: 0,
        data: sense,
      });
    let last = first;
    for (let i = 1; i <= 4; i++) {
      checkCondition(last.itt, last.cmdSN);
      await t.waitFor(2 + i);
      const again = t.received[1 + i] as ScsiCommand;
      expect(again.opcode).toBe(0x01);
      expect(again.cmdSN).toBe((last.cmdSN + 1) >>> 0);
      expect(result).toBeNull();
      expect(s.recovery.unitAttentions).toBe(i);
      last = again;
    }
    // A fifth UA for the same command is reported, not retried.
    checkCondition(last.itt, last.cmdSN);
    while (!result) await sleep(5);
    expect((result as ScsiTask).status).toBe(2);
    expect((result as ScsiTask).sense![12]).toBe(0x29);
  });

  it("fails the referenced task on a Reject", async () => {
    const { t, s } = await setup(1, 10);
    let result: ScsiTask | null = null;
    s.submit(readTask(4, (x) => (result = x)));
    await t.waitFor(1);
    const cmd = t.received[0] as ScsiCommand;
    const header = Buffer.alloc(48);
    header[0] = 0x01;
    header.writeUInt32BE(cmd.itt, 16);
    t.send({
      opcode: 0x3f,
      reason: 0x09,
      statSN: t.statSN++,
      expCmdSN: 2,
      maxCmdSN: 10,
      dataSN: 0,
      data: header,
    });
    while (!result) await sleep(5);
    expect((result as ScsiTask).error?.message).toBe("the target rejected a PDU (reason 0x9)");
    expect(s.isClosed).toBe(false);
  });
});

describe("initiator keep-alive", () => {
  async function keepAliveSession(): Promise<{ t: FakeTarget; s: InitiatorSession }> {
    fake = await startFakeTarget({ operational: OPERATIONAL, expCmdSN: 1, maxCmdSN: 10 });
    session = await openSessionOfType({
      host: "127.0.0.1",
      port: fake.port,
      targetName: "iqn.2026-11.test:fake",
      sessionType: "Normal",
      initiatorName: "iqn.2026-11.test:ini",
      timeoutMs: 600,
      nopIntervalMs: 150,
      noopTimeoutMs: 600,
      recoveryTimeoutMs: 0,
    });
    return { t: fake, s: session };
  }

  it("pings an idle target with immediate NOP-Outs and fails the session when it stops answering", async () => {
    const { t, s } = await keepAliveSession();
    const closed = new Promise<Error | null>((r) => {
      s.onClose = r;
    });
    await t.waitFor(1);
    const ping = t.received[0] as NopOut;
    expect(ping.opcode).toBe(0x00);
    expect(ping.immediate).toBe(true);
    expect(ping.ttt).toBe(0xffffffff); // a ping of our own, not an answer
    expect(ping.itt).not.toBe(0xffffffff); // asks for a NOP-In
    const err = await closed;
    expect(err).toBeInstanceOf(SessionError);
    expect(err?.message).toMatch(/did not answer a NOP-Out ping within 600 ms/);
  });

  it("stays up while the target answers the pings", async () => {
    const { t, s } = await keepAliveSession();
    let closedWith: Error | null | undefined;
    s.onClose = (e) => {
      closedWith = e;
    };
    let answered = 0;
    const deadline = Date.now() + 1500; // more than twice the timeout
    while (Date.now() < deadline) {
      await sleep(50);
      while (answered < t.received.length) {
        const p = t.received[answered++] as NopOut;
        if (p.opcode !== 0x00 || p.itt === 0xffffffff) continue;
        t.send({
          opcode: 0x20,
          lun: 0n,
          itt: p.itt,
          ttt: 0xffffffff,
          statSN: t.statSN,
          expCmdSN: 1,
          maxCmdSN: 10,
          data: Buffer.alloc(0),
        });
      }
    }
    expect(answered).toBeGreaterThanOrEqual(3);
    expect(closedWith).toBeUndefined();
    expect(s.isClosed).toBe(false);
  });
});
