/**
 * One session of the built-in target, apart from its connection (RFC 7143 3.4): who it belongs to
 * (initiator name, ISID, TSIH, session type), its connections (at most one while MaxConnections=1)
 * and the command numbering that belongs to the session rather than to a connection: ExpCmdSN and
 * MaxCmdSN of the CmdSN window (RFC 7143 4.2.2.1).
 */
import type { SessionType } from "./target-login.js";

/** What a session needs from each of its connections. */
export interface SessionConnection {
  /** "host:port" of the initiator, for log lines. */
  readonly remote: string;
  /** Ends every task of the connection without a response (reinstatement, RFC 7143 6.3.5). */
  abortTasks(lun: number): number;
  /** Closes the connection now. */
  destroy(): void;
}

export function sessionKey(initiatorName: string, isid: number): string {
  return `${initiatorName.toLowerCase()}|${isid}`;
}

export class TargetSession<C extends SessionConnection = SessionConnection> {
  readonly key: string;
  readonly connections = new Set<C>();
  /** Set once the session is ended (reinstated, logged out, its last connection gone). */
  ended = false;
  expCmdSN = 0;
  maxCmdSN = 0;

  constructor(
    readonly tsih: number,
    readonly initiatorName: string,
    readonly isid: number,
    readonly sessionType: SessionType,
    /** The CmdSN window: commands the session may have outstanding. */
    readonly window: number,
  ) {
    this.key = sessionKey(initiatorName, isid);
  }

  /** The leading login's CmdSN starts the numbering (RFC 7143 4.2.2.1, 11.12.6). */
  startCmdSN(cmdSN: number): void {
    this.expCmdSN = cmdSN >>> 0;
    this.maxCmdSN = (cmdSN + this.window - 1) >>> 0;
  }

  /** Accepts a non-immediate CmdSN inside [ExpCmdSN, MaxCmdSN]; false = outside, to be ignored. */
  acceptCmdSN(cmdSN: number): boolean {
    const ahead = (cmdSN - this.expCmdSN) | 0;
    const room = (this.maxCmdSN - cmdSN) | 0;
    if (ahead < 0 || room < 0) return false;
    this.expCmdSN = (cmdSN + 1) >>> 0;
    return true;
  }

  /** MaxCmdSN = ExpCmdSN + window - 1 - `running`, never decreasing (RFC 7143 4.2.2.1). */
  currentMaxCmdSN(running: number): number {
    const free = this.window - running;
    const candidate = (this.expCmdSN + Math.max(free, 0) - 1) >>> 0;
    if (((candidate - this.maxCmdSN) | 0) > 0) this.maxCmdSN = candidate;
    return this.maxCmdSN;
  }

  /** Ends the session: every connection's tasks are dropped without responses, then it is closed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const c of [...this.connections]) {
      c.abortTasks(-1);
      c.destroy();
    }
    this.connections.clear();
  }
}
