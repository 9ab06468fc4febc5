/**
 * Session recovery against a scripted target (RFC 7143 6.3.5, 7.1, 7.15): a lost connection is
 * replaced by a login with the same ISID and TSIH 0, the commands without a final status go out
 * again as new tasks (new ITT, new CmdSN, original order), each task ends exactly once, and the
 * counters say what happened. Command timeouts escalate ABORT TASK → LUN RESET → new connection;
 * BUSY is retried; an Async Message logout request is a logout and a new login, not a failure.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RecoveryTimeoutError, SessionError } from "../../src/initiator/errors.js";
import { type InitiatorSession, openSessionOfType } from "../../src/initiator/session.js";
import { newScsiTask, type ScsiTask } from "../../src/initiator/task.js";
import type { LogoutRequest, ScsiCommand, TaskMgmtRequest } from "../../src/iscsi/pdu.js";
import { type FakeTarget, type FakeTargetOptions, startFakeTarget } from "./fake-target.js";

const OPERATIONAL =
  "HeaderDigest=None DataDigest=None MaxRecvDataSegmentLength=65536 InitialR2T=No ImmediateData=Yes MaxBurstLength=262144 FirstBurstLength=65536 MaxOutstandingR2T=1 DefaultTime2Wait=0 DefaultTime2Retain=0 DataPDUInOrder=Yes DataSequenceInOrder=Yes ErrorRecoveryLevel=0 MaxConnections=1";

let fake: FakeTarget | null = null;
let session: InitiatorSession | null = null;
afterEach(async () => {
  session?.close();
  await fake?.close();
  fake = null;
  session = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function setup(
  extra: Partial<Parameters<typeof openSessionOfType>[0]> = {},
  fakeOpts: Partial<FakeTargetOptions> = {},
): Promise<{ t: FakeTarget; s: InitiatorSession }> {
  fake = await startFakeTarget({ operational: OPERATIONAL, expCmdSN: 1, maxCmdSN: 64, ...fakeOpts });
  session = await openSessionOfType({
    host: "127.0.0.1",
    port: fake.port,
    targetName: "iqn.2026-11.test:fake",
    sessionType: "Normal",
    initiatorName: "iqn.2026-11.test:ini",
    isid: 0x80_1234_5678_9a,
    timeoutMs: 2000,
    nopIntervalMs: 0,
    recoveryTimeoutMs: 10_000,
    ...extra,
  });
  return { t: fake, s: session };
}

function readTask(lba: number, done: (t: ScsiTask) => void): ScsiTask {
  const t = newScsiTask(done);
  t.cdb[0] = 0x28;
  t.cdb.writeUInt32BE(lba, 2);
  t.cdb[8] = 1;
  t.cdbLength = 10;
  t.dataIn = Buffer.alloc(512);
  t.dataInLength = 512;
  return t;
}

/** A GOOD status with 512 bytes of Data-In that carry the LBA, for a READ(10). */
function answerRead(t: FakeTarget, cmd: ScsiCommand, status = 0): void {
  const data = Buffer.alloc(512);
  data.writeUInt32BE(cmd.cdb.readUInt32BE(2), 0);
  t.send({
    opcode: 0x25,
    final: true,
    ack: false,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: false,
    hasStatus: status === 0,
    status: 0,
    lun: 0n,
    itt: cmd.itt,
    ttt: 0xffffffff,
    statSN: status === 0 ? t.statSN++ : 0,
    expCmdSN: (cmd.cmdSN + 1) >>> 0,
    maxCmdSN: (cmd.cmdSN + 64) >>> 0,
    dataSN: 0,
    bufferOffset: 0,
    residualCount: 0,
    data: status === 0 ? data : Buffer.alloc(0),
  });
}

function answerStatus(t: FakeTarget, cmd: ScsiCommand, status: number): void {
  t.send({
    opcode: 0x21,
    bidiOverflow: false,
    bidiUnderflow: false,
    overflow: false,
    underflow: false,
    response: 0,
    status,
    itt: cmd.itt,
    snackTag: 0,
    statSN: t.statSN++,
    expCmdSN: (cmd.cmdSN + 1) >>> 0,
    maxCmdSN: (cmd.cmdSN + 64) >>> 0,
    expDataSN: 0,
    bidiReadResidualCount: 0,
    residualCount: 0,
    data: Buffer.alloc(0),
  });
}

function answerTmf(t: FakeTarget, req: TaskMgmtRequest, response: number): void {
  t.send({
    opcode: 0x22,
    response,
    itt: req.itt,
    statSN: t.statSN++,
    expCmdSN: req.cmdSN,
    maxCmdSN: (req.cmdSN + 64) >>> 0,
  });
}

/** An Asynchronous Message (RFC 7143 11.9): event, Parameter2 (Time2Wait), Parameter3. */
function sendAsync(
  t: FakeTarget,
  cmd: ScsiCommand,
  event: number,
  parameter2: number,
  parameter3: number,
): void {
  t.send({
    opcode: 0x32,
    lun: 0n,
    statSN: t.statSN++,
    expCmdSN: (cmd.cmdSN + 1) >>> 0,
    maxCmdSN: (cmd.cmdSN + 64) >>> 0,
    asyncEvent: event,
    asyncVCode: 0,
    parameter1: 0,
    parameter2,
    parameter3,
    data: Buffer.alloc(0),
  });
}

const commands = (t: FakeTarget): ScsiCommand[] =>
  t.received.filter((p) => p.opcode === 0x01) as ScsiCommand[];
const tmfs = (t: FakeTarget): TaskMgmtRequest[] =>
  t.received.filter((p) => p.opcode === 0x02) as TaskMgmtRequest[];

describe("session reinstatement after a lost connection", () => {
  it("logs in again with the same ISID and TSIH 0 and re-issues, in order and as new tasks, only what had no status", async () => {
    const { t, s } = await setup();
    const done: ScsiTask[] = [];
    const tasks = [10, 11, 12].map((lba) => readTask(lba, (x) => done.push(x)));
    for (const task of tasks) s.submit(task);
    await t.waitFor(3);
    const before = commands(t);
    answerRead(t, before[0]!);
    await until("the first completion", () => done.length === 1);
    t.drop();
    await until("the re-issued commands", () => commands(t).length === 5);
    const again = commands(t).slice(3);
    expect(t.logins).toHaveLength(2);
    expect(t.logins[1]!.isid).toBe(t.logins[0]!.isid);
    expect(t.logins[1]!.tsih).toBe(0);
    // the same CDBs, in the original order, under new ITTs and consecutive new CmdSNs
    expect(again.map((c) => c.cdb.readUInt32BE(2))).toEqual([11, 12]);
    expect(again[0]!.itt).not.toBe(before[1]!.itt);
    expect(again[1]!.itt).not.toBe(before[2]!.itt);
    expect(again[1]!.cmdSN).toBe((again[0]!.cmdSN + 1) >>> 0);
    for (const c of again) answerRead(t, c);
    await until("all completions", () => done.length === 3);
    await sleep(50);
    expect(done).toHaveLength(3); // each task exactly once
    for (const task of done) {
      expect(task.error).toBeNull();
      expect(task.status).toBe(0);
      expect(task.dataIn!.readUInt32BE(0)).toBe(task.cdb.readUInt32BE(2));
    }
    expect(tasks.map((x) => x.reissued)).toEqual([0, 1, 1]);
    expect(s.recovery).toMatchObject({ reconnects: 1, reinstatements: 1, reissued: 2, downSince: -1 });
    expect(s.recovery.outageMs).toBeGreaterThan(0);
    expect(s.isClosed).toBe(false);
  });

  it("holds commands submitted during the outage and sends them after the re-issued ones", async () => {
    const { t, s } = await setup(
      {},
      { operational: OPERATIONAL.replace("DefaultTime2Wait=0", "DefaultTime2Wait=1") },
    );
    const done: ScsiTask[] = [];
    const first = readTask(1, (x) => done.push(x));
    const second = readTask(2, (x) => done.push(x));
    s.submit(first);
    await t.waitFor(1);
    t.drop();
    await until("recovering", () => s.isRecovering);
    s.submit(second);
    expect(s.queued).toBe(2);
    expect(s.inFlight).toBe(0);
    await until("both sent again", () => commands(t).length === 3, 8000);
    expect(
      commands(t)
        .slice(1)
        .map((c) => c.cdb.readUInt32BE(2)),
    ).toEqual([1, 2]);
    for (const c of commands(t).slice(1)) answerRead(t, c);
    await until("both completions", () => done.length === 2);
    expect(done.map((x) => x.cdb.readUInt32BE(2))).toEqual([1, 2]);
    expect([first.reissued, second.reissued]).toEqual([1, 0]);
    expect(s.recovery.outageMs).toBeGreaterThanOrEqual(900);
  });

  it("fails the outstanding commands once, with how long it waited, when the recovery timeout runs out", async () => {
    const { t, s } = await setup({ recoveryTimeoutMs: 600 });
    const done: ScsiTask[] = [];
    s.submit(readTask(1, (x) => done.push(x)));
    await t.waitFor(1);
    t.refuse();
    const started = Date.now();
    t.drop();
    await until("the failure", () => done.length === 1);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(550);
    expect(waited).toBeLessThan(8000);
    expect(done[0]!.error).toBeInstanceOf(RecoveryTimeoutError);
    expect(done[0]!.error!.message).toMatch(
      /^no working session for 0\.[5-9] s: gave up recovering at the recovery timeout/,
    );
    expect(s.isClosed).toBe(true);
    await sleep(50);
    expect(done).toHaveLength(1);
  });

  it("with recovery timeout 0 fails at once and says why", async () => {
    const { t, s } = await setup({ recoveryTimeoutMs: 0 });
    const done: ScsiTask[] = [];
    s.submit(readTask(1, (x) => done.push(x)));
    await t.waitFor(1);
    t.drop();
    await until("the failure", () => done.length === 1, 3000);
    expect(done[0]!.error!.message).toMatch(/recovery is off/);
    expect(t.logins).toHaveLength(1);
  });

  it("does not re-issue a COMPARE AND WRITE: it fails", async () => {
    const { t, s } = await setup();
    const done: ScsiTask[] = [];
    const caw = newScsiTask((x) => done.push(x));
    caw.cdb[0] = 0x89;
    caw.cdb[13] = 1;
    caw.cdbLength = 16;
    caw.dataOut = Buffer.alloc(1024);
    caw.dataOutLength = 1024;
    s.submit(caw);
    const read = readTask(5, (x) => done.push(x));
    s.submit(read);
    await t.waitFor(2);
    t.drop();
    await until("the re-issued read", () => commands(t).length === 3);
    answerRead(t, commands(t)[2]!);
    await until("both ends", () => done.length === 2);
    const failed = done.find((x) => x === caw)!;
    expect(failed.error).toBeInstanceOf(SessionError);
    expect(failed.error!.message).toMatch(/must not run twice/);
    expect(read.error).toBeNull();
    expect(commands(t)[2]!.cdb[0]).toBe(0x28);
  });

  it("a target that drops every new connection at once is not logged in to in a storm: backoff grows and the timeout ends it", async () => {
    const { t, s } = await setup({ recoveryTimeoutMs: 2500 });
    const done: ScsiTask[] = [];
    s.submit(readTask(1, (x) => done.push(x)));
    await t.waitFor(1);
    // from now on every login succeeds and the connection is reset right after
    t.dropAfterLogin = true;
    t.drop();
    await until("the failure", () => done.length === 1, 15_000);
    expect(done[0]!.error).toBeInstanceOf(RecoveryTimeoutError);
    // 2.5 s of doubling backoff from 250 ms allows a handful of logins, not hundreds
    expect(t.connections).toBeLessThan(15);
  });
});

describe("command timeouts", () => {
  it("ABORT TASK names the command; once confirmed the command is re-issued and completes once", async () => {
    const { t, s } = await setup({ commandTimeoutMs: 300 });
    const done: ScsiTask[] = [];
    const task = readTask(7, (x) => done.push(x));
    s.submit(task);
    await t.waitFor(1);
    const cmd = commands(t)[0]!;
    await until("ABORT TASK", () => tmfs(t).length === 1, 5000);
    const abort = tmfs(t)[0]!;
    expect(abort.function).toBe(1);
    expect(abort.immediate).toBe(true);
    expect(abort.referencedTaskTag).toBe(cmd.itt);
    expect(abort.refCmdSN).toBe(cmd.cmdSN);
    answerTmf(t, abort, 0);
    await until("the re-issue", () => commands(t).length === 2);
    const again = commands(t)[1]!;
    expect(again.itt).not.toBe(cmd.itt);
    answerRead(t, again);
    await until("the completion", () => done.length === 1);
    expect(task.error).toBeNull();
    expect(task.reissued).toBe(1);
    expect(s.recovery).toMatchObject({ commandTimeouts: 1, aborts: 1, reissued: 1, reconnects: 0 });
  });

  it("a SCSI response that arrives before the TMF response is the completion", async () => {
    const { t, s } = await setup({ commandTimeoutMs: 300 });
    const done: ScsiTask[] = [];
    s.submit(readTask(8, (x) => done.push(x)));
    await t.waitFor(1);
    const cmd = commands(t)[0]!;
    await until("ABORT TASK", () => tmfs(t).length === 1, 5000);
    answerRead(t, cmd);
    answerTmf(t, tmfs(t)[0]!, 1); // task does not exist (any more)
    await until("the completion", () => done.length === 1);
    await sleep(100);
    expect(done).toHaveLength(1);
    expect(done[0]!.error).toBeNull();
    expect(done[0]!.reissued).toBe(0);
    expect(commands(t)).toHaveLength(1);
  });

  it("an unanswered ABORT TASK is followed by LUN RESET, and an unanswered reset by a new connection", async () => {
    const { t, s } = await setup({ commandTimeoutMs: 250 });
    const done: ScsiTask[] = [];
    s.submit(readTask(9, (x) => done.push(x)));
    await t.waitFor(1);
    await until("LUN RESET", () => tmfs(t).length === 2, 5000);
    expect(tmfs(t).map((x) => x.function)).toEqual([1, 5]);
    await until("a new login", () => t.logins.length === 2, 5000);
    await until("the re-issue", () => commands(t).length === 2);
    answerRead(t, commands(t)[1]!);
    await until("the completion", () => done.length === 1);
    expect(done[0]!.error).toBeNull();
    expect(s.recovery.reconnects).toBe(1);
  });
});

describe("BUSY and asynchronous messages", () => {
  it("BUSY and TASK SET FULL are retried after a backoff and counted", async () => {
    const { t, s } = await setup();
    const done: ScsiTask[] = [];
    s.submit(readTask(3, (x) => done.push(x)));
    await t.waitFor(1);
    answerStatus(t, commands(t)[0]!, 0x08);
    await until("the first retry", () => commands(t).length === 2);
    answerStatus(t, commands(t)[1]!, 0x28);
    await until("the second retry", () => commands(t).length === 3);
    answerRead(t, commands(t)[2]!);
    await until("the completion", () => done.length === 1);
    expect(done[0]!.status).toBe(0);
    expect(s.recovery.busyRetries).toBe(2);
  });

  it("an Async Message logout request: the command in flight finishes, then logout and a new login, no error", async () => {
    const { t, s } = await setup();
    const done: ScsiTask[] = [];
    s.submit(readTask(4, (x) => done.push(x)));
    await t.waitFor(1);
    const cmd = commands(t)[0]!;
    sendAsync(t, cmd, 1, 0, 5);
    await sleep(50);
    s.submit(readTask(5, (x) => done.push(x))); // held until the new login
    await sleep(50);
    expect(commands(t)).toHaveLength(1);
    answerRead(t, cmd);
    await until("the logout request", () => t.received.some((p) => p.opcode === 0x06));
    const logout = t.received.find((p) => p.opcode === 0x06) as LogoutRequest;
    expect(logout.reasonCode).toBe(0);
    t.send({
      opcode: 0x26,
      response: 0,
      itt: logout.itt,
      statSN: t.statSN++,
      expCmdSN: logout.cmdSN,
      maxCmdSN: (logout.cmdSN + 64) >>> 0,
      time2Wait: 0,
      time2Retain: 0,
    });
    await until("the new login", () => t.logins.length === 2);
    await until("the held command", () => commands(t).length === 2);
    expect(t.logins[1]!.isid).toBe(t.logins[0]!.isid);
    answerRead(t, commands(t)[1]!);
    await until("both completions", () => done.length === 2);
    expect(done.every((x) => x.error === null && x.status === 0)).toBe(true);
  });

  it("an Async Message connection drop: a new login after the Time2Wait it names", async () => {
    const { t, s } = await setup();
    const done: ScsiTask[] = [];
    s.submit(readTask(6, (x) => done.push(x)));
    await t.waitFor(1);
    const cmd = commands(t)[0]!;
    const sent = Date.now();
    sendAsync(t, cmd, 2, 1, 0);
    await until("the new login", () => t.logins.length === 2, 8000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    await until("the re-issue", () => commands(t).length === 2);
    answerRead(t, commands(t)[1]!);
    await until("the completion", () => done.length === 1);
    expect(done[0]!.error).toBeNull();
    expect(s.recovery.reinstatements).toBe(1);
  });
});

describe("control requests without an answer", () => {
  it("a SendTargets that is never answered ends a discovery session within the command timeout", async () => {
    fake = await startFakeTarget({ operational: OPERATIONAL, expCmdSN: 1, maxCmdSN: 64 });
    session = await openSessionOfType({
      host: "127.0.0.1",
      port: fake.port,
      targetName: null,
      sessionType: "Discovery",
      initiatorName: "iqn.2026-11.test:ini",
      timeoutMs: 2000,
      nopIntervalMs: 0,
      commandTimeoutMs: 300,
    });
    const started = Date.now();
    const err = await session.text([["SendTargets", "All"]]).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(SessionError);
    expect(err!.message).toMatch(/did not answer a text request within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(session.isClosed).toBe(true);
    expect(fake.logins).toHaveLength(1); // discovery sessions are not reinstated
  });
});
