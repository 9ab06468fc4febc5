/**
 * Applies the fault specs (faults.ts) to the target's connections: one FaultInjector per portal
 * (the target-wide stall schedule, the connection numbering for the seeded shares, the log), one
 * ConnectionFaults per connection (its counts and timers). Wire-level faults go through the
 * connection's PDU transport (hold/release, corrupt the next data digest, close); status-level ones
 * (BUSY, TASK SET FULL, unit attention, a dropped response) are the connection's SCSI layer's, which
 * asks here. Every fault logs one line when it fires.
 */
import {
  ConnectionFaultCounter,
  type FaultSpec,
  formatFault,
  ScsiFaultStatus,
  StallSchedule,
} from "./faults.js";

/** What the injector needs of a connection. */
export interface FaultTarget {
  readonly remote: string;
  /** Whether DataDigest=CRC32C was negotiated. */
  readonly dataDigest: boolean;
  /** The connection's PDU transport: the wire-level hooks. */
  readonly transport: {
    hold(): void;
    release(): number;
    corruptNextDataDigest(): void;
  };
  /** Closes the connection: `graceful` lets what is queued go out first. */
  faultClose(graceful: boolean): void;
  /** Sends an Asynchronous Message, AsyncEvent 1 (logout request), Parameter3 = `withinS`. */
  sendAsyncLogout(withinS: number): void;
  /** Raises a unit attention for this connection's I_T nexus on every LU. */
  raiseUnitAttention(asc: number, ascq: number): void;
}

export type FaultLog = (line: string) => void;

export class FaultInjector {
  private connections = 0;
  private readonly stall: { spec: Extract<FaultSpec, { kind: "stall" }>; schedule: StallSchedule } | null;
  private readonly live = new Set<ConnectionFaults>();
  private stallTimer: NodeJS.Timeout | null = null;
  private stalling = false;
  private closed = false;

  constructor(
    readonly specs: ReadonlyArray<FaultSpec>,
    readonly seed: number,
    private readonly log: FaultLog,
  ) {
    const stall = specs.find((f): f is Extract<FaultSpec, { kind: "stall" }> => f.kind === "stall");
    this.stall = stall === undefined ? null : { spec: stall, schedule: new StallSchedule(stall) };
  }

  /** The faults of a new connection, or null when no fault is configured. */
  forConnection(target: FaultTarget): ConnectionFaults | null {
    if (this.specs.length === 0) return null;
    return new ConnectionFaults(this, target, this.connections++);
  }

  fire(spec: FaultSpec | string, what: string): void {
    this.log(`fault ${typeof spec === "string" ? spec : formatFault(spec)}: ${what}`);
  }

  /** A connection entered the full feature phase / went away. */
  joined(c: ConnectionFaults): void {
    this.live.add(c);
    if (this.stalling) c.target.transport.hold();
  }
  left(c: ConnectionFaults): void {
    this.live.delete(c);
  }

  /** A SCSI command arrived somewhere: the stall schedule starts with the first one. */
  commandSeen(): void {
    const s = this.stall;
    if (s === null || s.schedule.started || this.closed) return;
    // one clock reading for both: with two, a millisecond passing in between put `now` past the
    // anchor, and a stall without `every` then had no window left (it never happened)
    const now = Date.now();
    s.schedule.start(now);
    this.scheduleStall(now);
  }

  private scheduleStall(now = Date.now()): void {
    const s = this.stall!;
    const start = s.schedule.nextStart(now);
    if (start < 0 || this.closed) return;
    if (start <= now) {
      // due now: hold before the command that started the schedule is answered
      this.beginStall();
      return;
    }
    this.stallTimer = setTimeout(() => this.beginStall(), start - now);
    this.stallTimer.unref();
  }

  private beginStall(): void {
    const s = this.stall!;
    this.stalling = true;
    for (const c of this.live) c.target.transport.hold();
    this.fire(s.spec, `holding every response of ${this.live.size} connection(s) for ${s.spec.forMs} ms`);
    this.stallTimer = setTimeout(() => this.endStall(), s.spec.forMs);
    this.stallTimer.unref();
  }

  private endStall(): void {
    const s = this.stall!;
    this.stalling = false;
    let n = 0;
    for (const c of this.live) n += c.target.transport.release();
    this.fire(s.spec, `released ${n} held PDU(s)`);
    // the next window starts `every` after this one started
    if (s.spec.everyMs > 0) this.scheduleStall();
  }

  /** The target stops: no more timers. */
  close(): void {
    this.closed = true;
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    for (const c of [...this.live]) c.dispose();
  }
}

/** The faults of one connection: counts (commands, Data-In) and timers (from its login). */
export class ConnectionFaults {
  private readonly counter: ConnectionFaultCounter;
  private readonly timers: NodeJS.Timeout[] = [];
  private loggedIn = false;
  private disposed = false;
  private closing = false;
  private readonly busy: FaultSpec | undefined;
  private readonly taskSetFull: FaultSpec | undefined;

  constructor(
    private readonly injector: FaultInjector,
    readonly target: FaultTarget,
    readonly number: number,
  ) {
    this.counter = new ConnectionFaultCounter(injector.specs, injector.seed, number);
    this.busy = injector.specs.find((f) => f.kind === "busy");
    this.taskSetFull = injector.specs.find((f) => f.kind === "task-set-full");
  }

  /** SCSI commands received on this connection so far. */
  get commands(): number {
    return this.counter.commands;
  }

  /** The connection entered the full feature phase: per-connection timers start. */
  onLogin(): void {
    if (this.loggedIn || this.disposed) return;
    this.loggedIn = true;
    this.injector.joined(this);
    for (const f of this.injector.specs) {
      if (f.kind === "close-every") {
        this.after(f.everyMs, () => {
          this.injector.fire(f, `closing ${this.target.remote} ${f.everyMs} ms after its login`);
          this.close(false);
        });
      } else if (f.kind === "async-logout") {
        this.after(f.afterMs, () => {
          this.injector.fire(
            f,
            `asking ${this.target.remote} to log out within ${f.withinS} s (AsyncEvent 1)`,
          );
          this.target.sendAsyncLogout(f.withinS);
          // RFC 7143 11.9.1: no logout within Parameter3 seconds: the target may drop the connection
          this.after(f.withinS * 1000, () => {
            this.injector.fire(f, `${this.target.remote} did not log out within ${f.withinS} s: closing it`);
            this.close(false);
          });
        });
      } else if (f.kind === "unit-attention") {
        this.after(f.afterMs, () => {
          this.injector.fire(
            f,
            `unit attention (ASC 0x${f.asc.toString(16)}, ASCQ 0x${f.ascq.toString(16)}) for ${this.target.remote} on every LU`,
          );
          this.target.raiseUnitAttention(f.asc, f.ascq);
        });
      } else if (f.kind === "corrupt-digest" && !this.target.dataDigest) {
        this.injector.fire(f, `${this.target.remote} negotiated no data digest: nothing to corrupt`);
      }
    }
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      if (!this.disposed) fn();
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private close(graceful: boolean): void {
    if (this.closing) return;
    this.closing = true;
    this.target.faultClose(graceful);
  }

  /**
   * A SCSI command arrived (opcode = CDB byte 0): counts it; returns the status to answer it with
   * instead of executing it (BUSY 0x08, TASK SET FULL 0x28), or -1.
   */
  onCommand(opcode: number): number {
    this.injector.commandSeen();
    const status = this.counter.onCommand(opcode);
    if (status === ScsiFaultStatus.BUSY) {
      this.injector.fire(
        this.busy!,
        `BUSY for command ${this.counter.commands} (opcode 0x${opcode.toString(16)}) from ${this.target.remote}`,
      );
    } else if (status === ScsiFaultStatus.TASK_SET_FULL) {
      this.injector.fire(
        this.taskSetFull!,
        `TASK SET FULL for command ${this.counter.commands} (opcode 0x${opcode.toString(16)}) from ${this.target.remote}`,
      );
    }
    return status;
  }

  /** Whether the command just counted is never to be answered (logs when it is). */
  dropThis(itt: number): boolean {
    if (!this.counter.dropThis()) return false;
    this.injector.fire(
      `drop-response=${this.counter.dropResponse}`,
      `never answering command ${this.counter.commands} (ITT 0x${itt.toString(16)}) from ${this.target.remote}`,
    );
    return true;
  }

  /** The command counted as number `n` got its response: closes after the close-after-th. */
  answered(n: number): void {
    const limit = this.counter.closeAfter;
    if (limit === 0 || n !== limit) return;
    this.injector.fire(
      `close-after=${limit}`,
      `closing ${this.target.remote} after its command ${limit} was answered`,
    );
    this.close(true);
  }

  /** A Data-In is about to be sent: arms a wrong data digest on the corrupt-digest-th. */
  beforeDataIn(): void {
    if (this.counter.corruptDigest === 0) return;
    if (!this.counter.onDataIn() || !this.target.dataDigest) return;
    this.injector.fire(
      `corrupt-digest=${this.counter.corruptDigest}`,
      `a wrong data digest on Data-In ${this.counter.dataIns} to ${this.target.remote}`,
    );
    this.target.transport.corruptNextDataDigest();
  }

  /** The initiator logged out: the async-logout deadline no longer applies. */
  onLogout(): void {
    this.dispose();
  }

  /** The connection is gone. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    this.injector.left(this);
  }
}
