/**
 * The proof on the built-in target, through the compiled CLI with `run --fault`: a verify
 * workload (random 50/50 reads and writes of stamped blocks) finishes clean — exit 0, no I/O error,
 * no mismatch — through connections closed every 2 s (about 10 reinstatements in 20 s, commands
 * re-issued, the outage on the timeline), through stalls longer than --command-timeout (aborts
 * counted) and through a 5 % BUSY share (retried and counted, about 5 % of the commands). And the
 * coordinated-omission correction: a rate-limited run through a stall shows the stall in its latency
 * (counted from the intended start) and not in its service time.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeHistogram, mergeHistograms } from "../../src/result/histogram.js";
import { writeVerifyWorkload } from "../helpers/workload-fixtures.js";
import { buildDist, checkRecovery, runCli } from "./e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-run-faults-"));
beforeAll(() => buildDist(), 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: parsed result JSON, checked field by field
type Json = any;
const readJson = (p: string): Json => JSON.parse(readFileSync(p, "utf8"));

/** The verify workload of these runs (seed 7). */
function verifyWorkload(name: string, duration: string, extra: Record<string, unknown> = {}): string {
  return writeVerifyWorkload(dir, name, duration, 7, extra);
}

/** Runs `workload` on the embedded target with `args`; returns the result and stderr. */
async function runWith(workload: string, args: string[]): Promise<{ res: Json; stderr: string }> {
  const out = workload.replace(/\.json$/, "-result.json");
  const r = await runCli(["run", workload, "--out", out, "--quiet", ...args], dir, 150_000);
  expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  return { res: readJson(out), stderr: r.stderr };
}

/** Nothing lost: no I/O error, no mismatch, blocks checked, and the counters add up. */
function expectClean(res: Json): void {
  expect(res.schemaVersion).toBe(3);
  expect(res.interrupted).toBe(false);
  expect(res.summary.errors).toBe(0);
  for (const j of res.jobs) expect(j.errors, j.name).toBe(0);
  expect(res.summary.verify.enabled).toBe(true);
  expect(res.summary.verify.mismatches).toBe(0);
  expect(res.summary.verify.failures).toEqual([]);
  expect(res.summary.verify.blocksChecked).toBeGreaterThan(0);
  expect(res.summary.read.ios).toBeGreaterThan(0);
  expect(res.summary.write.ios).toBeGreaterThan(0);
  checkRecovery(res, false);
}

const sumOf = (xs: Json[], f: (x: Json) => number): number => xs.reduce((n, x) => n + f(x), 0);

describe("run --fault on the built-in target: a verify run loses nothing", () => {
  it("connections closed every 2 s for 20 s: about 10 reinstatements, re-issues, the outage on the timeline", async () => {
    const { res, stderr } = await runWith(verifyWorkload("close-every", "20s"), [
      "--fault",
      "close-every=2s",
    ]);
    expectClean(res);
    const rec = res.summary.recovery;
    // one session closed 2 s after each of its logins, for 20 s (and the read-back after)
    expect(rec.reinstatements).toBeGreaterThanOrEqual(6);
    expect(rec.reinstatements).toBeLessThanOrEqual(14);
    expect(rec.reconnects).toBe(rec.reinstatements);
    expect(rec.reissued).toBeGreaterThan(0);
    expect(rec.outageMs).toBeGreaterThan(0);
    // every reconnect followed a close the target logged
    const closes = stderr.match(/^fault close-every=2000ms: closing /gm) ?? [];
    expect(closes.length).toBeGreaterThanOrEqual(rec.reconnects);
    // the outage and the reconnects show in the measured intervals and on the timeline
    const ivs = res.jobs[0].repetitions[0].intervals;
    const ivOutage = sumOf(ivs, (iv) => iv.outageMs);
    const tlOutage = sumOf(res.timeline, (e) => e.outageMs);
    expect(ivOutage).toBeGreaterThan(0);
    expect(tlOutage).toBe(ivOutage);
    expect(tlOutage).toBeLessThanOrEqual(rec.outageMs + 1);
    const tlReconnects = sumOf(res.timeline, (e) => e.reconnects);
    expect(tlReconnects).toBeGreaterThanOrEqual(5);
    expect(tlReconnects).toBeLessThanOrEqual(rec.reconnects);
    expect(stderr).toMatch(/^recovery: \d+ reconnects \(\d+ reinstatements\), \d+ commands? re-issued/m);
    console.info(
      `close-every=2s, 20 s: ${rec.reinstatements} reinstatements, ${rec.reissued} re-issued, ` +
        `${rec.recoveredBlocks} blocks recovered, outage ${rec.outageMs} ms (timeline ${tlOutage} ms), ` +
        `${res.summary.verify.blocksChecked} blocks checked, ${res.durationSec} s`,
    );
  }, 200_000);

  it("stalls longer than --command-timeout: ABORT TASK counted, the commands re-issued", async () => {
    const { res, stderr } = await runWith(verifyWorkload("stall", "10s"), [
      "--command-timeout",
      "1s",
      "--fault",
      "stall=5s,every=10s,after=1s",
    ]);
    expectClean(res);
    expect(stderr).toContain("fault stall=5000ms,every=10000ms,after=1000ms: holding every response");
    const rec = res.summary.recovery;
    expect(rec.commandTimeouts).toBeGreaterThan(0);
    expect(rec.aborts).toBeGreaterThan(0);
    expect(rec.aborts).toBeLessThanOrEqual(rec.commandTimeouts);
    // ABORT TASK and LOGICAL UNIT RESET went unanswered in the 5 s stall (1 s each): new connection
    expect(rec.reconnects).toBeGreaterThanOrEqual(1);
    expect(rec.reissued).toBeGreaterThan(0);
    console.info(
      `stall=5s past --command-timeout 1s, 10 s: ${rec.commandTimeouts} command timeouts, ${rec.aborts} aborts, ` +
        `${rec.reconnects} reconnects, ${rec.reissued} re-issued, outage ${rec.outageMs} ms, ${res.durationSec} s`,
    );
  }, 200_000);

  it("a 5 % BUSY share: retried and counted, about 5 % of the commands, no error", async () => {
    const { res, stderr } = await runWith(verifyWorkload("busy", "10s"), ["--fault", "busy=5%"]);
    expectClean(res);
    const rec = res.summary.recovery;
    // the target logs every BUSY answer with the connection's command number
    const busy = [
      ...stderr.matchAll(/^fault busy=5%?: BUSY for command (\d+) \(opcode 0x[0-9a-f]{2}\) from (\S+)$/gm),
    ];
    expect(busy.length).toBeGreaterThan(100);
    expect(rec.busyRetries).toBe(busy.length); // each BUSY answer sent again once
    // the share: BUSY answers over the commands the target received (the highest number per connection)
    const highest = new Map<string, number>();
    for (const m of busy) highest.set(m[2]!, Math.max(highest.get(m[2]!) ?? 0, Number(m[1])));
    const commands = sumOf([...highest.values()], (n) => n);
    const share = busy.length / commands;
    expect(share).toBeGreaterThan(0.035);
    expect(share).toBeLessThan(0.065);
    // nothing else happened
    expect([rec.reconnects, rec.reissued, rec.aborts, rec.outageMs]).toEqual([0, 0, 0, 0]);
    console.info(
      `busy=5%, 10 s: ${rec.busyRetries} BUSY retries of ${commands} commands (${(share * 100).toFixed(2)} %), ` +
        `${res.summary.read.ios + res.summary.write.ios} measured I/Os, ${res.durationSec} s`,
    );
  }, 200_000);

  it("a rate-limited run through a stall: the stall in its latency, not in its service time", async () => {
    const STALL_US = 2_000_000;
    // 400 IOPS, queue depth 4: the stall delays ~800 intended starts (20 %), holds only the 4 in flight
    const workload = verifyWorkload("paced-stall", "10s", {
      blockSize: "4KiB",
      queueDepth: 4,
      rate: { iops: 400 },
    });
    const { res, stderr } = await runWith(workload, ["--fault", "stall=2s,after=4s"]);
    expectClean(res);
    expect(stderr).toContain("fault stall=2000ms,after=4000ms: holding every response");
    expect(stderr).toContain("fault stall=2000ms,after=4000ms: released");
    const job = res.jobs[0];
    expect(job.rate.iops).toBe(400);
    expect(job.rate.keptUp).toBe(false);
    expect(job.rate.maxLagMs).toBeGreaterThanOrEqual((STALL_US / 1000) * 0.75);
    const merged = (key: "histogram" | "serviceHistogram") =>
      mergeHistograms([decodeHistogram(res.summary.read[key]), decodeHistogram(res.summary.write[key])]);
    const latency = merged("histogram");
    const service = merged("serviceHistogram");
    expect(latency.totalCount).toBe(service.totalCount);
    expect(latency.totalCount).toBe(res.summary.read.ios + res.summary.write.ios);
    const lat = { p99: latency.getValueAtPercentile(99), max: latency.maxValue };
    const svc = { p99: service.getValueAtPercentile(99), max: service.maxValue };
    // corrected latency: the commands meant to start during the stall waited for it
    expect(lat.max).toBeGreaterThanOrEqual(STALL_US * 0.95);
    expect(lat.p99).toBeGreaterThanOrEqual(STALL_US * 0.75);
    // service time: only the few commands in flight when it began saw the stall
    expect(svc.p99).toBeLessThan(STALL_US / 4);
    expect(lat.p99).toBeGreaterThan(svc.p99 * 4);
    // the per-op figures say the same
    for (const op of ["read", "write"] as const) {
      expect(res.summary[op].latencyUs.p99, op).toBeGreaterThanOrEqual(STALL_US * 0.75);
      expect(res.summary[op].serviceTimeUs.p99, op).toBeLessThan(STALL_US / 4);
    }
    console.info(
      `rate 400 IOPS through stall=2s: latency p99 ${lat.p99} µs max ${lat.max} µs, ` +
        `service p99 ${svc.p99} µs max ${svc.max} µs, maxLagMs ${job.rate.maxLagMs}, ${res.durationSec} s`,
    );
  }, 200_000);
});
