import { describe, expect, it } from "vitest";
import { IntervalRecorder } from "../../src/engine/interval-recorder.js";
import { IoLoop, type IoLoopConfig, type IoSource } from "../../src/engine/io-loop.js";
import { Verifier } from "../../src/engine/verifier.js";
import { RecoveryTimeoutError, SessionError } from "../../src/initiator/errors.js";
import type { ScsiTask } from "../../src/initiator/task.js";
import type { IoSpec } from "../../src/workload/types.js";

const BS = 512;

/** A fake session: it keeps what was submitted; the test ends the tasks. */
class FakeSession {
  readonly pending: ScsiTask[] = [];
  readonly seen = new Set<ScsiTask>();
  submits = 0;
  submit(t: ScsiTask): void {
    this.submits++;
    this.seen.add(t);
    expect(this.pending.includes(t), "a task is never submitted twice at once").toBe(false);
    this.pending.push(t);
  }
  /** Ends the oldest pending task (GOOD unless told otherwise). */
  finish(o: { status?: number; error?: Error; reissued?: number; transferred?: number } = {}): ScsiTask {
    const t = this.pending.shift();
    if (t === undefined) throw new Error("nothing pending");
    t.status = o.error !== undefined ? -1 : (o.status ?? 0);
    t.error = o.error ?? null;
    t.reissued = o.reissued ?? 0;
    t.dataInTransferred = o.transferred ?? t.dataInLength;
    t.done(t);
    return t;
  }
  finishAll(): void {
    for (let n = this.pending.length; n > 0; n--) this.finish();
  }
}

/** Reads (or writes) at the LBAs `lbas` in turn, `blocks` each. */
function source(lbas: number[], blocks = 1, read = true): IoSource & { count: number } {
  const s = {
    count: 0,
    next(io: IoSpec): void {
      io.read = read;
      io.offset = lbas[s.count % lbas.length]! * BS;
      io.length = blocks * BS;
      s.count++;
    },
  };
  return s;
}

function config(over: Partial<IoLoopConfig> = {}): IoLoopConfig {
  return {
    lun: 0,
    queueDepth: 4,
    blockSize: BS,
    maxIoBytes: 8 * BS,
    fillSeed: 1,
    iosLimit: Number.POSITIVE_INFINITY,
    bytesLimit: Number.POSITIVE_INFINITY,
    rate: null,
    workerIndex: 0,
    workerCount: 1,
    meanIoBytes: BS,
    ...over,
  };
}

function recorder(): IntervalRecorder {
  const r = new IntervalRecorder(null);
  r.window(0, Number.POSITIVE_INFINITY);
  return r;
}

describe("IoLoop", () => {
  it("keeps queueDepth reusable tasks in flight, issuing one again at each completion", async () => {
    const s = new FakeSession();
    const rec = recorder();
    const loop = new IoLoop(config(), s, source([0, 1, 2, 3, 4, 5, 6, 7]), rec, null);
    const drained = loop.run(performance.now());
    expect(s.pending).toHaveLength(4);
    for (let i = 0; i < 20; i++) s.finish();
    expect(s.pending).toHaveLength(4);
    expect(s.seen.size).toBe(4); // the same four task objects, reused
    loop.stop("stop");
    let resolved = false;
    void drained.then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(false); // still draining
    s.finishAll();
    await drained;
    expect(s.submits).toBe(24);
    expect(loop.stoppedBy).toBe("stop");
    expect(rec.read.ios).toBe(24);
    expect(rec.read.bytes).toBe(24 * BS);
  });

  it("builds the CDB and buffers of a read and of a write", () => {
    const s = new FakeSession();
    const w = new IoLoop(config({ queueDepth: 1 }), s, source([9], 2, false), recorder(), null);
    void w.run(0);
    const t = s.pending[0]!;
    expect(t.cdb[0]).toBe(0x2a); // WRITE(10)
    expect(t.cdb.readUInt32BE(2)).toBe(9);
    expect(t.cdb.readUInt16BE(7)).toBe(2);
    expect(t.dataOutLength).toBe(2 * BS);
    expect(t.dataIn).toBeNull();
    w.stop("stop");
    s.finishAll();
    const r = new IoLoop(config({ queueDepth: 1 }), s, source([5], 1, true), recorder(), null);
    void r.run(0);
    const u = s.pending[0]!;
    expect(u.cdb[0]).toBe(0x28); // READ(10)
    expect(u.dataInLength).toBe(BS);
    expect(u.dataOut).toBeNull();
    r.stop("stop");
    s.finishAll();
  });

  it("stops at its share of the I/O limit and resolves once drained", async () => {
    const s = new FakeSession();
    const loop = new IoLoop(config({ iosLimit: 10 }), s, source([0, 1, 2, 3]), recorder(), null);
    const drained = loop.run(0);
    for (let i = 0; i < 100 && s.pending.length > 0; i++) s.finish();
    await drained;
    expect(s.submits).toBe(10);
    expect(loop.stoppedBy).toBe("limit");
  });

  it("stops at the byte limit", async () => {
    const s = new FakeSession();
    const loop = new IoLoop(config({ bytesLimit: 3 * 4 * BS }), s, source([0, 8], 4), recorder(), null);
    const drained = loop.run(0);
    for (let i = 0; i < 100 && s.pending.length > 0; i++) s.finish();
    await drained;
    expect(loop.issuedBytes).toBe(3 * 4 * BS);
    expect(loop.stoppedBy).toBe("limit");
  });

  it("counts a task that ends with an error or a bad status as an I/O error, by its cause", async () => {
    const s = new FakeSession();
    const rec = recorder();
    const loop = new IoLoop(config({ queueDepth: 3 }), s, source([0, 1, 2]), rec, null);
    const drained = loop.run(0);
    s.finish({ error: new SessionError("connection reset") });
    s.finish({ status: 8 });
    s.finish({ transferred: 100 });
    s.finish();
    loop.stop("stop");
    s.finishAll();
    await drained;
    expect(Object.fromEntries(rec.errorsBySense)).toEqual({
      "TRANSPORT: connection reset": 1,
      BUSY: 1,
      "SHORT READ: fewer bytes than requested": 1,
    });
    expect(rec.pendingErrors).toBe(3);
    expect(rec.read.ios).toBe(4); // one GOOD before the stop, three drained
    expect(loop.fatal).toBeNull();
  });

  it("a task ending with RecoveryTimeoutError stops the loop as fatal, not as an I/O error", async () => {
    const s = new FakeSession();
    const rec = recorder();
    const loop = new IoLoop(config(), s, source([0, 1, 2, 3]), rec, null);
    const drained = loop.run(0);
    const err = new RecoveryTimeoutError(2000, "connection refused");
    s.finish({ error: err });
    expect(loop.stopped).toBe(true);
    expect(s.pending).toHaveLength(3); // nothing new was issued
    for (let n = 3; n > 0; n--) s.finish({ error: new RecoveryTimeoutError(2000, "connection refused") });
    await drained;
    expect(loop.fatal).toBe(err);
    expect(loop.fatal!.message).toMatch(/^no working session for 2\.0 s/);
    expect(rec.pendingErrors).toBe(0);
    expect(loop.stoppedBy).toBe("stop");
  });

  it("verify: holds a command that overlaps a write in flight until that write completed", async () => {
    const s = new FakeSession();
    const v = new Verifier(
      { generations: new SharedArrayBuffer(64 * 4), baseLba: 0, blocks: 64, seed: 3 },
      BS,
    );
    // writes at 10, 11, 10, 12: the second write of 10 must wait for the first
    const src = source([10, 11, 10, 12], 1, false);
    const loop = new IoLoop(config({ queueDepth: 4 }), s, src, recorder(), v);
    const drained = loop.run(0);
    expect(s.pending.map((t) => t.cdb.readUInt32BE(2))).toEqual([10, 11]);
    expect(v.inflightAt(10)).toBe(1);
    s.finish(); // the write of 10 completes: the held one goes out, then the next
    const lbas = s.pending.map((t) => t.cdb.readUInt32BE(2));
    expect(lbas).toEqual([11, 10, 12]);
    expect(v.generations[10]).toBe(1);
    // the re-write of 10 carries generation 2
    expect(s.pending[1]!.dataOut!.readUInt32BE(16)).toBe(2);
    expect(src.count).toBe(5); // held commands are not drawn again (nor dropped)
    loop.stop("stop");
    s.finishAll();
    await drained;
    // never more than one write of a block at once
    expect(v.inflightAt(10)).toBe(0);
  });

  it("verify: a write re-issued by the session that returns GOOD counts its blocks as recovered", async () => {
    const s = new FakeSession();
    const v = new Verifier(
      { generations: new SharedArrayBuffer(64 * 4), baseLba: 0, blocks: 64, seed: 3 },
      BS,
    );
    const loop = new IoLoop(config({ queueDepth: 2 }), s, source([0, 4], 4, false), recorder(), v);
    const drained = loop.run(0);
    loop.stop("stop");
    s.finish({ reissued: 1 });
    s.finish({ error: new SessionError("aborted") });
    await drained;
    expect(v.recoveredBlocks).toBe(4);
    expect(v.mismatchCount).toBe(0);
    expect([...v.generations.subarray(0, 4)]).toEqual([1, 1, 1, 1]);
    expect(v.generations[4]).toBe(0xffffffff);
  });

  it("keeps to the rate schedule: never more commands than the schedule allows", async () => {
    const s = new FakeSession();
    // 50 IOPS: one command every 20 ms
    const loop = new IoLoop(
      config({ rate: { iops: 50, bytesPerSec: null } }),
      s,
      source([0, 1]),
      recorder(),
      null,
    );
    const start = performance.now();
    const drained = loop.run(start);
    const timer = setInterval(() => {
      while (s.pending.length > 0) s.finish();
    }, 5);
    await new Promise((r) => setTimeout(r, 200));
    const elapsed = performance.now() - start;
    loop.stop("duration");
    clearInterval(timer);
    s.finishAll();
    await drained;
    expect(s.submits).toBeGreaterThanOrEqual(1);
    expect(s.submits).toBeLessThanOrEqual(1 + Math.floor(elapsed / 20) + 1);
    expect(loop.stoppedBy).toBe("duration");
  });

  it("a loop stopped before it ran resolves at once", async () => {
    const s = new FakeSession();
    const loop = new IoLoop(config(), s, source([0]), recorder(), null);
    loop.stop("stop");
    await loop.run(0);
    expect(s.submits).toBe(0);
  });
});
