/**
 * The built-in target's limits (issue 10, Security) and session reinstatement on the wire: CHAP
 * secrets shorter than 12 bytes refused unless insecure (RFC 7143 9.2.1), --max-sessions (Out of
 * resources, 0x0302), --max-connections (Too many connections, 0x0206), half-open logins closed
 * after --login-timeout, and two logins with the same initiator name and ISID and TSIH 0: the first
 * connection is closed, the second works (RFC 7143 6.3.5).
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { type RunningTarget, startTargetInProcess, type TargetOptions } from "../../src/target/index.js";
import { resolveTargetOptions } from "../../src/target/options.js";
import { RawInitiator, TEST_UNIT_READY } from "./raw-initiator.js";

const IQN = "iqn.2026-11.io.iscsi-bench:limits";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:limits-client";
const LUNS: TargetOptions["luns"] = [{ kind: "memory", sizeBytes: 1024 * 1024 }];

let targets: RunningTarget[] = [];
let clients: RawInitiator[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  for (const t of targets) await t.stop();
  targets = [];
  clients = [];
});

async function target(extra: Partial<TargetOptions>, log: string[] = []): Promise<RunningTarget> {
  const t = await startTargetInProcess(
    { port: 0, iqn: IQN, luns: LUNS, ...extra },
    { log: (l) => log.push(l) },
  );
  targets.push(t);
  return t;
}

async function login(t: RunningTarget, isid: number, tsih = 0): Promise<RawInitiator> {
  const c = await RawInitiator.login({ port: t.port, targetName: IQN, initiatorName: INITIATOR, isid, tsih });
  clients.push(c);
  return c;
}

describe("CHAP secret length", () => {
  it("refuses secrets shorter than 12 bytes without insecure, naming the option and never the secret", () => {
    for (const key of ["chap", "mutualChap"] as const) {
      let err: unknown;
      try {
        resolveTargetOptions({ luns: LUNS, [key]: { user: "u", secret: "short-pw" } });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain(
        `${key}: the secret is shorter than 12 bytes (RFC 7143 9.2.1)`,
      );
      expect((err as Error).message).not.toContain("short-pw");
    }
  });

  it("accepts 12 bytes, and shorter secrets with insecure", () => {
    expect(
      resolveTargetOptions({ luns: LUNS, chap: { user: "u", secret: "twelve-bytes" } }).chap?.secret,
    ).toBe("twelve-bytes");
    expect(
      resolveTargetOptions({ luns: LUNS, chap: { user: "u", secret: "pw" }, insecure: true }).chap?.secret,
    ).toBe("pw");
  });
});

describe("session and connection limits", () => {
  it("refuses a session beyond --max-sessions with Out of resources; a closed session frees its place", async () => {
    const log: string[] = [];
    const t = await target({ maxSessions: 2 }, log);
    const a = await login(t, 0x800000000001);
    const b = await login(t, 0x800000000002);
    expect([a.loginStatus, b.loginStatus]).toEqual([0, 0]);
    const c = await login(t, 0x800000000003);
    expect(c.loginStatus).toBe(0x0302);
    await c.closedAt;
    expect(log.some((l) => l.includes("2 sessions already (--max-sessions)"))).toBe(true);
    a.close();
    let again: RawInitiator | null = null;
    // the target notices the close asynchronously: a bounded number of attempts
    for (let i = 0; i < 50 && (again === null || again.loginStatus !== 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await login(t, 0x800000000004);
    }
    expect(again!.loginStatus).toBe(0);
  });

  it("refuses a connection beyond --max-connections with Too many connections", async () => {
    const t = await target({ maxConnections: 1 });
    const a = await login(t, 0x800000000001);
    expect(a.loginStatus).toBe(0);
    const b = await login(t, 0x800000000002);
    expect(b.loginStatus).toBe(0x0206);
    // the one admitted still works
    expect((await a.result(a.command(TEST_UNIT_READY))).status).toBe(0);
  });

  it("closes a connection that has not completed its login within --login-timeout", async () => {
    const log: string[] = [];
    const t = await target({ loginTimeoutMs: 200 }, log);
    const socket = net.connect({ host: "127.0.0.1", port: t.port });
    socket.on("error", () => {});
    const start = Date.now();
    await new Promise<void>((resolve) => socket.on("close", () => resolve()));
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);
    expect(log.some((l) => l.startsWith("login timeout:") && l.includes("within 200 ms"))).toBe(true);
    // a login that completes is not affected
    const ok = await login(t, 0x800000000009);
    await new Promise((r) => setTimeout(r, 300));
    expect((await ok.result(ok.command(TEST_UNIT_READY))).status).toBe(0);
  });
});

describe("session reinstatement on the wire", () => {
  it("a second login with the same initiator name and ISID and TSIH 0 closes the first connection; the second works", async () => {
    const t = await target({});
    const first = await login(t, 0x80123456789a);
    expect(first.loginStatus).toBe(0);
    const second = await login(t, 0x80123456789a);
    expect(second.loginStatus).toBe(0);
    expect(second.tsih).not.toBe(first.tsih);
    await first.closedAt;
    expect(first.closed).toBe(true);
    expect((await second.result(second.command(TEST_UNIT_READY))).status).toBe(0);
  });

  it("a login that names the live session's TSIH is refused (MaxConnections=1), an unknown TSIH too", async () => {
    const t = await target({});
    const first = await login(t, 0x800000000042);
    const more = await login(t, 0x800000000042, first.tsih);
    expect(more.loginStatus).toBe(0x0206);
    const unknown = await login(t, 0x800000000043, 0x7777);
    expect(unknown.loginStatus).toBe(0x020a);
    expect((await first.result(first.command(TEST_UNIT_READY))).status).toBe(0);
  });
});
