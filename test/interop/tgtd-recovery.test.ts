/**
 * Recovery against a real target: tgtd with a file-backed LUN. A verify run (random 50/50 reads
 * and writes of stamped blocks, through the compiled CLI) finishes with exit 0, no I/O error and no
 * mismatch, the recovery counted, when
 *   - tgtd is killed with SIGKILL mid-run and started again 3 s later on the same file and the same
 *     port (the session is reinstated on a target that never heard of it: same ISID, TSIH 0), and
 *   - tgtd drops the session's connection itself (`tgtadm --op delete --mode conn`).
 * tgtd's DefaultTime2Wait is 2 s, so each recovery takes a few seconds.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, type CliRun, checkRecovery, runCli } from "../engine/e2e.js";
import { freePort, requireTgtd } from "../helpers/tgtd.js";
import { writeVerifyWorkload } from "../helpers/workload-fixtures.js";

requireTgtd();

const IQN = "iqn.2026-11.io.iscsi-bench:tgtd-recovery";
const HOST = "127.0.0.1";
const SOCKET_DIR = "/var/run/tgtd";
const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-tgtd-recovery-"));
/** How long tgtd stays dead before it is started again. */
const DOWN_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// biome-ignore lint/suspicious/noExplicitAny: parsed result JSON, checked field by field
type Json = any;

function tgtadm(ctlPort: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "tgtadm",
      ["-C", String(ctlPort), "--lld", "iscsi", ...args],
      { timeout: 10_000 },
      (err, out, e) => {
        if (err) reject(new Error(`tgtadm ${args.join(" ")}: ${e.trim() || err.message}`));
        else resolve(out);
      },
    );
  });
}

/** One tgtd process on HOST:port with its own control port (and so its own control socket files). */
interface Daemon {
  child: ChildProcess;
  ctlPort: number;
  exited: Promise<void>;
  isExited: () => boolean;
  log: () => string;
}

const started: Daemon[] = [];

function spawnDaemon(port: number): Daemon {
  const ctlPort = 1024 + Math.floor(Math.random() * 31000);
  const child = spawn("tgtd", ["-f", "-C", String(ctlPort), "--iscsi", `portal=${HOST}:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-10_000);
  });
  let gone = false;
  const exited = new Promise<void>((res) =>
    child.once("exit", () => {
      gone = true;
      res();
    }),
  );
  const d = { child, ctlPort, exited, isExited: () => gone, log: () => log };
  started.push(d);
  return d;
}

async function killDaemon(d: Daemon): Promise<void> {
  if (!d.isExited()) d.child.kill("SIGKILL");
  await Promise.race([d.exited, sleep(5000)]);
  // tgtd leaves its control socket and lock file behind when killed
  for (const f of [`socket.${d.ctlPort}`, `socket.${d.ctlPort}.lock`])
    rmSync(join(SOCKET_DIR, f), { force: true });
}

/**
 * Starts tgtd on HOST:port serving `file` as LUN 1 of IQN. A control port another tgtd owns makes
 * it exit at once: then another one is tried. Fails when tgtd does not listen on that very portal
 * (it falls back to 0.0.0.0:3260 when the port is taken).
 */
async function startDaemon(port: number, file: string): Promise<Daemon> {
  const deadline = Date.now() + 20_000;
  for (let attempt = 1; ; attempt++) {
    const d = spawnDaemon(port);
    let portals: string | null = null;
    while (portals === null && !d.isExited() && Date.now() < deadline) {
      portals = await tgtadm(d.ctlPort, ["--op", "show", "--mode", "portal"]).catch(() => null);
      if (portals === null) await sleep(100);
    }
    if (portals === null) {
      await killDaemon(d);
      if (attempt < 6 && Date.now() < deadline) continue;
      throw new Error(`tgtd did not start: ${d.log().trim().split("\n").slice(-3).join(" | ")}`);
    }
    if (!portals.includes(`Portal: ${HOST}:${port},`)) {
      await killDaemon(d);
      throw new Error(`tgtd did not listen on ${HOST}:${port}: ${portals.trim()}`);
    }
    await tgtadm(d.ctlPort, ["--op", "new", "--mode", "target", "--tid", "1", "-T", IQN]);
    await tgtadm(d.ctlPort, ["--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", file]);
    await tgtadm(d.ctlPort, ["--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"]);
    return d;
  }
}

/** The (sid, cid) pairs of target 1's connections, from `tgtadm --op show --mode conn`. */
async function connections(d: Daemon): Promise<Array<{ sid: string; cid: string }>> {
  const out = await tgtadm(d.ctlPort, ["--op", "show", "--mode", "conn", "--tid", "1"]);
  return [...out.matchAll(/Session: (\d+)\s+Connection: (\d+)/g)].map((m) => ({ sid: m[1]!, cid: m[2]! }));
}

/** A fresh sparse LUN file of 64 MiB. */
function lunFile(name: string): string {
  const file = join(dir, name);
  writeFileSync(file, "");
  truncateSync(file, 64 << 20);
  return file;
}

/**
 * Waits until the run's writes reach the file (its allocated blocks grow: the device probing only
 * reads), then `settleMs` more: the workers are in the middle of their I/O.
 */
async function whenWriting(file: string, run: { done: boolean }, settleMs: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (statSync(file).blocks === 0) {
    if (run.done) throw new Error("the run ended before it wrote");
    if (Date.now() > deadline) throw new Error("the run wrote nothing within 60 s");
    await sleep(100);
  }
  await sleep(settleMs);
}

function writeWorkload(name: string): string {
  return writeVerifyWorkload(dir, name, "12s", 11);
}

/** Starts the CLI's verify run against the daemon's LUN 1; resolves when it ends. */
function startRun(name: string, port: number): { done: boolean; result: Promise<CliRun>; out: string } {
  const out = join(dir, `${name}-result.json`);
  const state = { done: false, out, result: null as unknown as Promise<CliRun> };
  state.result = runCli(
    [
      "run",
      writeWorkload(name),
      "--target",
      `iscsi://${HOST}:${port}/${IQN}/1`,
      "--allow-write",
      "--recovery-timeout",
      "60s",
      "--out",
      out,
      "--quiet",
    ],
    dir,
    150_000,
  ).then((r) => {
    state.done = true;
    return r;
  });
  return state;
}

/** The run's result once it ended: exit 0 and a clean recovery (see expectCleanRecovery). */
async function cleanRecovery(run: { result: Promise<CliRun>; out: string }): Promise<Json> {
  const r = await run.result;
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  const res = JSON.parse(readFileSync(run.out, "utf8"));
  expectCleanRecovery(r, res);
  return res;
}

function expectCleanRecovery(r: CliRun, res: Json): void {
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  expect(res.schemaVersion).toBe(3);
  expect(res.interrupted).toBe(false);
  expect(res.target.builtin).toBe(false);
  expect(res.summary.errors).toBe(0);
  expect(res.summary.verify.mismatches).toBe(0);
  expect(res.summary.verify.failures).toEqual([]);
  expect(res.summary.verify.blocksChecked).toBeGreaterThan(0);
  expect(res.summary.write.ios).toBeGreaterThan(0);
  checkRecovery(res, false);
  const rec = res.summary.recovery;
  expect(rec.reconnects).toBeGreaterThanOrEqual(1);
  expect(rec.reinstatements).toBeGreaterThanOrEqual(1);
  // tgtd waits DefaultTime2Wait (2 s) before the initiator may log in again
  expect(rec.outageMs).toBeGreaterThanOrEqual(1000);
  expect(r.stderr).toMatch(/^recovery: \d+ reconnects? \(\d+ reinstatements?\)/m);
}

beforeAll(() => buildDist(), 180_000);
afterAll(async () => {
  for (const d of started) await killDaemon(d);
  rmSync(dir, { recursive: true, force: true });
});

describe("recovery against tgtd with a file-backed LUN", () => {
  it("tgtd killed with SIGKILL mid-run and started again on the same file and port: exit 0, nothing lost", async () => {
    const file = lunFile("killed.img");
    const port = await freePort();
    const first = await startDaemon(port, file);
    const run = startRun("killed", port);
    let second: Daemon | null = null;
    let downMs = 0;
    try {
      await whenWriting(file, run, 2500);
      expect(run.done, "the run was still going when tgtd was killed").toBe(false);
      expect((await connections(first)).length).toBeGreaterThanOrEqual(1);
      const killedAt = Date.now();
      await killDaemon(first);
      // down for a while, like a rebooting target: the first logins after Time2Wait are refused
      await sleep(DOWN_MS);
      second = await startDaemon(port, file);
      downMs = Date.now() - killedAt;
    } finally {
      await run.result;
    }
    const res = await cleanRecovery(run);
    // the new tgtd knew nothing of the old session: its power-on UNIT ATTENTION was consumed
    expect(res.summary.recovery.unitAttentions).toBeGreaterThanOrEqual(1);
    expect(second).not.toBeNull();
    expect(res.summary.recovery.outageMs).toBeGreaterThanOrEqual(DOWN_MS);
    const rec = res.summary.recovery;
    console.info(
      `tgtd SIGKILL, down ${downMs} ms: ${rec.reconnects} reconnects, ${rec.reinstatements} reinstatements, ` +
        `${rec.reissued} re-issued, ${rec.unitAttentions} unit attentions, ${rec.recoveredBlocks} blocks recovered, ` +
        `outage ${rec.outageMs} ms, ${res.summary.verify.blocksChecked} blocks checked, ${res.durationSec} s`,
    );
  }, 200_000);

  it("a connection dropped with tgtadm --op delete --mode conn: exit 0, nothing lost", async () => {
    const file = lunFile("dropped.img");
    const port = await freePort();
    const d = await startDaemon(port, file);
    const run = startRun("dropped", port);
    let dropped: { sid: string; cid: string } | null = null;
    try {
      await whenWriting(file, run, 2500);
      const conns = await connections(d);
      expect(conns.length, "the worker's connection").toBe(1);
      dropped = conns[0]!;
      await tgtadm(d.ctlPort, [
        "--op",
        "delete",
        "--mode",
        "conn",
        "--tid",
        "1",
        "--sid",
        dropped.sid,
        "--cid",
        dropped.cid,
      ]);
    } finally {
      await run.result;
    }
    const res = await cleanRecovery(run);
    expect(d.isExited()).toBe(false);
    const rec = res.summary.recovery;
    console.info(
      `tgtadm delete conn sid ${dropped?.sid} cid ${dropped?.cid}: ${rec.reconnects} reconnects, ` +
        `${rec.reinstatements} reinstatements, ${rec.reissued} re-issued, ${rec.unitAttentions} unit attentions, ` +
        `outage ${rec.outageMs} ms, ${res.summary.verify.blocksChecked} blocks checked, ${res.durationSec} s`,
    );
  }, 200_000);
});
