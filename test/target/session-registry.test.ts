/**
 * The target's session registry on its own: TSIH allocation, lookup by (initiator name, ISID) and
 * by TSIH, reinstatement (RFC 7143 6.3.5: the old session's tasks end and its connection closes
 * before the new login completes), MaxConnections=1, the session limit, and the CmdSN window.
 */
import { describe, expect, it } from "vitest";
import { SessionRegistry } from "../../src/target/session-registry.js";
import { LoginStatus } from "../../src/target/target-login.js";
import { type SessionConnection, TargetSession } from "../../src/target/target-session.js";

class FakeConnection implements SessionConnection {
  readonly events: string[] = [];
  constructor(readonly remote: string) {}
  abortTasks(lun: number): number {
    this.events.push(`abort ${lun}`);
    return 0;
  }
  destroy(): void {
    this.events.push("destroy");
  }
}

const A = "iqn.2026-11.io.iscsi-bench:a";
const B = "iqn.2026-11.io.iscsi-bench:b";

function normal(initiatorName: string, isid: number, tsih = 0) {
  return { initiatorName, isid, tsih, sessionType: "Normal" as const };
}

describe("session registry", () => {
  it("allocates distinct nonzero TSIHs and finds sessions both ways", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 8, commandWindow: 16 });
    const c1 = new FakeConnection("c1");
    const c2 = new FakeConnection("c2");
    const s1 = r.admit(normal(A, 1), c1);
    const s2 = r.admit(normal(A, 2), c2);
    if (!("session" in s1) || !("session" in s2)) throw new Error("refused");
    expect(s1.session.tsih).not.toBe(0);
    expect(s2.session.tsih).not.toBe(s1.session.tsih);
    expect(r.find(A, 1)).toBe(s1.session);
    expect(r.find(A.toUpperCase(), 1)).toBe(s1.session); // iSCSI names compare case-insensitively
    expect(r.byTsih(s2.session.tsih)).toBe(s2.session);
    expect(r.size).toBe(2);
    expect([...s1.session.connections]).toEqual([c1]);
  });

  it("reinstates: the old session's tasks end and its connection closes before the new one is admitted", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 8, commandWindow: 16 });
    const old = new FakeConnection("old");
    const first = r.admit(normal(A, 7), old);
    if (!("session" in first)) throw new Error("refused");
    const fresh = new FakeConnection("new");
    const second = r.admit(normal(A, 7), fresh);
    if (!("session" in second)) throw new Error("refused");
    expect(old.events).toEqual(["abort -1", "destroy"]);
    expect(fresh.events).toEqual([]);
    expect(second.reinstated).toBe(first.session);
    expect(first.session.ended).toBe(true);
    expect(r.find(A, 7)).toBe(second.session);
    expect(r.byTsih(first.session.tsih)).toBeUndefined();
    expect(r.size).toBe(1);
    // the old connection's close arriving later does not touch the new session
    r.connectionClosed(first.session, old);
    expect(r.find(A, 7)).toBe(second.session);
  });

  it("keeps other initiators' sessions with the same ISID", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 8, commandWindow: 16 });
    const a = new FakeConnection("a");
    r.admit(normal(A, 7), a);
    r.admit(normal(B, 7), new FakeConnection("b"));
    expect(a.events).toEqual([]);
    expect(r.size).toBe(2);
  });

  it("refuses a second connection (MaxConnections=1) and an unknown TSIH", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 8, commandWindow: 16 });
    const s = r.admit(normal(A, 1), new FakeConnection("c"));
    if (!("session" in s)) throw new Error("refused");
    const more = r.admit(normal(A, 1, s.session.tsih), new FakeConnection("d"));
    expect(more).toMatchObject({ status: LoginStatus.TooManyConnections });
    expect(r.admit(normal(A, 1, 0x4242), new FakeConnection("e"))).toMatchObject({
      status: LoginStatus.SessionDoesNotExist,
    });
  });

  it("refuses sessions beyond the limit with Out of resources; reinstatement still works at the limit", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 2, commandWindow: 16 });
    r.admit(normal(A, 1), new FakeConnection("1"));
    r.admit(normal(A, 2), new FakeConnection("2"));
    const third = r.admit(normal(A, 3), new FakeConnection("3"));
    expect(third).toMatchObject({ status: LoginStatus.OutOfResources });
    expect((third as { reason: string }).reason).toContain("--max-sessions");
    expect("session" in r.admit(normal(A, 2), new FakeConnection("2b"))).toBe(true);
    // a session whose connection closed frees its place
    const s1 = r.find(A, 1)!;
    r.connectionClosed(s1, [...s1.connections][0]!);
    expect(r.find(A, 1)).toBeUndefined();
    expect("session" in r.admit(normal(A, 3), new FakeConnection("3b"))).toBe(true);
  });

  it("never hands out TSIH 0 or a live TSIH when the counter wraps", () => {
    const r = new SessionRegistry<FakeConnection>({ maxSessions: 0xffff, commandWindow: 1 });
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const s = r.admit(normal(A, i), new FakeConnection(String(i)));
      if (!("session" in s)) throw new Error("refused");
      expect(seen.has(s.session.tsih)).toBe(false);
      seen.add(s.session.tsih);
    }
    expect(seen.has(0)).toBe(false);
  });
});

describe("the session's CmdSN window", () => {
  it("accepts CmdSN inside [ExpCmdSN, MaxCmdSN] across the 2^32 wrap and never lowers MaxCmdSN", () => {
    const s = new TargetSession(1, A, 1, "Normal", 4);
    s.startCmdSN(0xfffffffe);
    expect(s.maxCmdSN).toBe(1);
    expect(s.acceptCmdSN(0xfffffffd)).toBe(false); // behind
    expect(s.acceptCmdSN(0xfffffffe)).toBe(true);
    expect(s.acceptCmdSN(0xffffffff)).toBe(true);
    expect(s.acceptCmdSN(2)).toBe(false); // beyond MaxCmdSN
    expect(s.expCmdSN).toBe(0);
    expect(s.currentMaxCmdSN(2)).toBe(1); // 0 + 4 - 2 - 1 = 1
    expect(s.currentMaxCmdSN(4)).toBe(1); // would be lower: stays
    expect(s.currentMaxCmdSN(0)).toBe(3);
  });
});
