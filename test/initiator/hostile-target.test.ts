/**
 * The initiator against a hostile target (test/helpers/hostile-target.ts): garbage, truncated PDUs,
 * impossible lengths, unknown tags, undefined opcodes, silence. Each ends, within a bound generous
 * for a loaded 2-core machine, in a typed error with a clear one-line message: no hang, no crash,
 * no unhandled rejection. Through the session API and through the compiled CLI (info, run, discover).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openSession, type Session, type SessionOptions } from "../../src/initiator/session.js";
import { Opcode } from "../../src/iscsi/pdu.js";
import { buildDist } from "../engine/e2e.js";
import { type HostileTarget, startHostileTarget } from "../helpers/hostile-target.js";
import {
  CLI_BOUND_MS,
  expectCliFailure,
  expectTypedError,
  HOSTILE_CASES,
  type HostileCase,
  INQUIRY,
  READ_WORKLOAD,
  STATSN_CASES,
  settle,
} from "./hostile-cases.js";

const INITIATOR = "iqn.2026-11.io.iscsi-bench:hostile-test";
/** How long any case may take in the session API (timeouts below are 1.5 s at most). */
const API_BOUND_MS = 20_000;

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
});

let target: HostileTarget | null = null;
let session: Session | null = null;
afterEach(async () => {
  session?.close();
  session = null;
  await target?.close();
  target = null;
  await new Promise((r) => setTimeout(r, 50)); // let late rejections surface
  expect(unhandled).toEqual([]);
});

function options(t: HostileTarget, over: Partial<SessionOptions> = {}): SessionOptions {
  return {
    host: "127.0.0.1",
    port: t.port,
    targetName: t.iqn,
    initiatorName: INITIATOR,
    timeoutMs: 1500,
    commandTimeoutMs: 1500,
    nopIntervalMs: 300,
    noopTimeoutMs: 1500,
    recoveryTimeoutMs: 0,
    ...over,
  };
}

/** Runs `c` through openSession + execute(INQUIRY); returns the error it ended in. */
async function viaSession(c: HostileCase, over: Partial<SessionOptions> = {}): Promise<unknown> {
  target = await startHostileTarget(c.script());
  const opened = await settle(openSession(options(target, over)), API_BOUND_MS);
  expect(opened.hung, `openSession hung for ${API_BOUND_MS} ms`).toBe(false);
  if (c.phase === "login") {
    expect(opened.value, "the login succeeded against a hostile target").toBeUndefined();
    return opened.error;
  }
  expect(opened.error, `login failed: ${String(opened.error)}`).toBeUndefined();
  session = opened.value!;
  const ran = await settle(session.execute(0, INQUIRY, { dataInLength: 96 }), API_BOUND_MS);
  expect(ran.hung, `execute hung for ${API_BOUND_MS} ms`).toBe(false);
  expect(ran.value, "the command completed against a hostile target").toBeUndefined();
  return ran.error;
}

describe("hostile target, session API", () => {
  for (const c of HOSTILE_CASES) {
    it(`${c.name}: ${c.phase === "login" ? "openSession" : "the command"} fails with a typed one-line error`, async () => {
      const err = await viaSession(c);
      expectTypedError(err, c.message);
    }, 30_000);
  }

  it("a DataSegmentLength beyond the maximum is refused from the header, not after a timeout", async () => {
    const c = HOSTILE_CASES.find((x) => x.name.startsWith("a DataSegmentLength"))!;
    // every timer far away: only the framer's check can end this quickly
    const t0 = Date.now();
    const err = await viaSession(c, { commandTimeoutMs: 120_000, noopTimeoutMs: 120_000, nopIntervalMs: 0 });
    expectTypedError(err, c.message);
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 30_000);

  it("silence after login, idle: the unanswered NOP-Outs end the session with a typed error", async () => {
    target = await startHostileTarget({});
    const s = await openSession(options(target));
    session = s;
    const closed = new Promise<Error | null>((r) => {
      s.onClose = r;
    });
    const ended = await settle(closed, API_BOUND_MS);
    expect(ended.hung, "the session never noticed the silent target").toBe(false);
    expectTypedError(ended.value, /NOP|ping|answer|timed out/i);
    expect(target.opcodes).toContain(Opcode.NopOut);
    // and the session refuses new work with a typed error, at once
    const after = await settle(s.execute(0, INQUIRY, { dataInLength: 96 }), 5_000);
    expect(after.hung).toBe(false);
    expectTypedError(after.error, /./);
  }, 30_000);

  it("silence during login ends at the login timeout", async () => {
    target = await startHostileTarget({ login: false });
    const r = await settle(openSession(options(target, { timeoutMs: 1000 })), API_BOUND_MS);
    expectTypedError(r.error, /login timed out after 1000 ms/);
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(target.opcodes).toEqual([Opcode.LoginRequest]);
  }, 30_000);
});

describe("hostile target, session API, StatSN far out of order (RFC 7143 4.2.2.2)", () => {
  for (const c of STATSN_CASES) {
    it(`${c.name}: the session ends with a typed error naming the StatSN`, async () => {
      target = await startHostileTarget(c.script());
      const s = await openSession(options(target));
      session = s;
      const closed = new Promise<Error | null>((r) => {
        s.onClose = r;
      });
      // the command itself may complete or fail; the session must not carry on as if nothing happened
      const ran = await settle(s.execute(0, INQUIRY, { dataInLength: 96 }), API_BOUND_MS);
      expect(ran.hung).toBe(false);
      if (ran.error !== undefined) expectTypedError(ran.error, c.message);
      const ended = await settle(closed, API_BOUND_MS);
      expect(ended.hung, "the session went on after a StatSN far out of order").toBe(false);
      expectTypedError(ended.value, c.message);
    }, 30_000);
  }
});

describe("hostile target, session API, recovery against a target that breaks every session", () => {
  for (const c of HOSTILE_CASES.filter((x) => x.phase === "ffp")) {
    it(`${c.name}: with a 2 s recovery timeout the command fails, saying how long it waited`, async () => {
      target = await startHostileTarget(c.script());
      session = await openSession(options(target, { recoveryTimeoutMs: 2000 }));
      const r = await settle(session.execute(0, INQUIRY, { dataInLength: 96 }), API_BOUND_MS);
      expect(r.hung, `still recovering after ${API_BOUND_MS} ms, ${target.connections} connections`).toBe(
        false,
      );
      expectTypedError(r.error, c.message);
      expectTypedError(r.error, /\d+\.\d s/);
      // DefaultTime2Wait (2 s) and backoff between attempts: a few logins, not a storm
      expect(target.connections).toBeGreaterThan(1);
      expect(target.connections).toBeLessThan(10);
    }, 30_000);
  }
});

// --- the same misbehaviour through the CLI -------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-hostile-"));
const WORKLOAD = join(dir, "read.json");

beforeAll(() => {
  buildDist();
  writeFileSync(WORKLOAD, READ_WORKLOAD);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("hostile target, CLI", () => {
  for (const c of HOSTILE_CASES) {
    it(
      `info: ${c.name}`,
      async () => {
        target = await startHostileTarget(c.script());
        await expectCliFailure(["info", target.url(0), "--timeout", "2s"], dir, c.message);
      },
      CLI_BOUND_MS + 20_000,
    );

    const recovery = c.phase === "ffp" ? ["--recovery-timeout", "0"] : [];
    it(
      `run${c.phase === "ffp" ? " --recovery-timeout 0" : ""}: ${c.name}`,
      async () => {
        target = await startHostileTarget(c.script());
        await expectCliFailure(
          ["run", WORKLOAD, "--target", target.url(0), "--quiet", ...recovery],
          dir,
          c.message,
        );
      },
      CLI_BOUND_MS + 20_000,
    );
  }

  // Every case is run through the session API with a 2 s recovery timeout above; the CLI's message
  // and exit code are the same for all of them, so two representative cases suffice here.
  const RECOVERING_CLI_CASES = ["garbage in the full feature phase", "Data-In for an unknown task"];
  const recoveringCli = HOSTILE_CASES.filter((x) => RECOVERING_CLI_CASES.includes(x.name));
  it("the representative cases exist", () => {
    expect(recoveringCli.map((c) => c.name)).toEqual(RECOVERING_CLI_CASES);
  });
  for (const c of recoveringCli) {
    it(
      `run --recovery-timeout 2s: ${c.name}, saying how long it waited`,
      async () => {
        target = await startHostileTarget(c.script());
        const line = await expectCliFailure(
          ["run", WORKLOAD, "--target", target.url(0), "--quiet", "--recovery-timeout", "2s"],
          dir,
          c.message,
        );
        expect(line).toMatch(/no working session for 2\.\d s/);
        expect(target.connections).toBeGreaterThan(1);
      },
      CLI_BOUND_MS + 20_000,
    );
  }

  it(
    "discover: a target that logs in and never answers SendTargets",
    async () => {
      target = await startHostileTarget({});
      await expectCliFailure(
        ["discover", `iscsi://127.0.0.1:${target.port}`, "--timeout", "2s"],
        dir,
        /timed out|NOP|answer/i,
      );
    },
    CLI_BOUND_MS + 20_000,
  );

  it(
    "discover: garbage instead of the SendTargets answer",
    async () => {
      target = await startHostileTarget({
        onPdu(pdu, p) {
          if (pdu.opcode === Opcode.TextRequest)
            p.sendRaw(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n".repeat(3)));
        },
      });
      await expectCliFailure(
        ["discover", `iscsi://127.0.0.1:${target.port}`, "--timeout", "2s"],
        dir,
        /protocol|malformed/i,
      );
    },
    CLI_BOUND_MS + 20_000,
  );
});
