/**
 * The target's sessions: by (initiator name, ISID) and by TSIH, TSIH allocation, the session
 * limit, and reinstatement (RFC 7143 6.3.5): a login with TSIH 0 and the (InitiatorName, ISID) of a
 * live session ends that session (its tasks dropped, its connection closed) before the new login
 * completes. A login with a nonzero TSIH would add a connection: refused while MaxConnections=1.
 */
import { LoginStatus } from "./target-login.js";
import { type SessionConnection, sessionKey, TargetSession } from "./target-session.js";

export interface AdmitRequest {
  initiatorName: string;
  isid: number;
  tsih: number;
  sessionType: "Normal" | "Discovery";
}

export type Admission<C extends SessionConnection> =
  | { session: TargetSession<C>; reinstated: TargetSession<C> | null }
  | { status: number; reason: string };

export class SessionRegistry<C extends SessionConnection = SessionConnection> {
  private readonly byKey = new Map<string, TargetSession<C>>();
  private readonly byTsihMap = new Map<number, TargetSession<C>>();
  private nextTsih = 1;

  constructor(private readonly limits: { maxSessions: number; commandWindow: number }) {}

  get size(): number {
    return this.byKey.size;
  }

  find(initiatorName: string, isid: number): TargetSession<C> | undefined {
    return this.byKey.get(sessionKey(initiatorName, isid));
  }

  byTsih(tsih: number): TargetSession<C> | undefined {
    return this.byTsihMap.get(tsih);
  }

  sessions(): IterableIterator<TargetSession<C>> {
    return this.byKey.values();
  }

  /**
   * Admits `conn` at the end of its login: a new session (TSIH allocated), after ending the session
   * it reinstates, or a login status saying why not.
   */
  admit(req: AdmitRequest, conn: C): Admission<C> {
    if (req.tsih !== 0) {
      // adding a connection to an existing session: MaxConnections=1 (RFC 7143 6.3.4)
      return this.byTsihMap.has(req.tsih)
        ? {
            status: LoginStatus.TooManyConnections,
            reason: "the session has its one connection (MaxConnections=1)",
          }
        : { status: LoginStatus.SessionDoesNotExist, reason: `no session with TSIH ${req.tsih}` };
    }
    const old = this.find(req.initiatorName, req.isid);
    if (old !== undefined) {
      // reinstatement: the old session ends first, so it never counts against the limit
      this.remove(old);
      old.end();
    }
    if (this.byKey.size >= this.limits.maxSessions) {
      return {
        status: LoginStatus.OutOfResources,
        reason: `${this.limits.maxSessions} sessions already (--max-sessions)`,
      };
    }
    const tsih = this.allocateTsih();
    if (tsih === 0) return { status: LoginStatus.OutOfResources, reason: "no TSIH left" };
    const session = new TargetSession<C>(
      tsih,
      req.initiatorName,
      req.isid,
      req.sessionType,
      this.limits.commandWindow,
    );
    session.connections.add(conn);
    this.byKey.set(session.key, session);
    this.byTsihMap.set(tsih, session);
    return { session, reinstated: old ?? null };
  }

  /** A connection is gone: its session ends with it (one connection per session). */
  connectionClosed(session: TargetSession<C>, conn: C): void {
    session.connections.delete(conn);
    if (session.connections.size === 0) {
      this.remove(session);
      session.ended = true;
    }
  }

  /** Forgets `session` (it may already be gone). */
  remove(session: TargetSession<C>): void {
    if (this.byKey.get(session.key) === session) this.byKey.delete(session.key);
    if (this.byTsihMap.get(session.tsih) === session) this.byTsihMap.delete(session.tsih);
  }

  /** TSIHs 1..0xffff, round robin, skipping live ones (0 is reserved, RFC 7143 11.12.8). 0 = none left. */
  private allocateTsih(): number {
    let tsih = this.nextTsih;
    for (let i = 0; i < 0xffff; i++) {
      if (tsih !== 0 && !this.byTsihMap.has(tsih)) {
        this.nextTsih = (tsih + 1) & 0xffff || 1;
        return tsih;
      }
      tsih = (tsih + 1) & 0xffff;
    }
    return 0;
  }
}
