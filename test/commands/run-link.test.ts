/**
 * `run --link` and `--link-rate` through the CLI, on the built-in target: an emulated 100 Mbit/s
 * link carries what a real one does (90–100 % of the iSCSI payload ceiling, computed here by hand
 * from the negotiated parameters), the result records the link and its efficiency, `compare`
 * finds the slow link against an unshaped baseline, and bad link specs are one line and exit 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, runCli } from "../engine/e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-link-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const workload = join(dir, "seq-read-128k.json");
writeFileSync(
  workload,
  JSON.stringify({
    name: "seq-read-128k",
    duration: "5s",
    rampTime: "500ms",
    jobs: [{ name: "reader", pattern: "sequential", blockSize: "128KiB", queueDepth: 8, size: "256MiB" }],
  }),
);

// biome-ignore lint/suspicious/noExplicitAny: parsed result JSON
const readJson = (p: string): any => JSON.parse(readFileSync(p, "utf8"));

/** rate/8 × L / ((48 + hd + L + dd) × (MTU+38)/(MTU−52)): Data-In PDUs of the initiator's MaxRecvDSL. */
function payloadCeiling(
  bitsPerSec: number,
  mtu: number,
  negotiated: Record<string, number | boolean>,
): number {
  const l = negotiated["maxRecvDataSegmentLength"] as number;
  const digests = (negotiated["headerDigest"] ? 4 : 0) + (negotiated["dataDigest"] ? 4 : 0);
  return ((bitsPerSec / 8) * l) / ((48 + digests + l) * ((mtu + 38) / (mtu - 52)));
}

let shaped = "";
let unshaped = "";

beforeAll(async () => {
  buildDist();
  shaped = join(dir, "shaped.json");
  unshaped = join(dir, "unshaped.json");
  const a = await runCli(["run", workload, "--link", "100mbit", "--quiet", "--out", shaped], dir);
  expect(a.code, a.stderr).toBe(0);
  const b = await runCli(["run", workload, "--quiet", "--out", unshaped], dir);
  expect(b.code, b.stderr).toBe(0);
}, 120_000);

describe("run --link", () => {
  it("an emulated 100 Mbit/s link carries 90–100 % of the iSCSI payload ceiling, and the result says so", () => {
    const r = readJson(shaped);
    expect(r.link).toEqual({
      nominalBitsPerSec: 100e6,
      mtu: 1500,
      delayMs: 0,
      emulated: true,
      source: "--link",
    });
    expect(r.target.builtin).toBe(true);
    const ceiling = payloadCeiling(100e6, 1500, r.target.negotiated);
    const got = r.summary.read.bytesPerSec;
    console.log(
      `--link 100mbit: ${(got / 1e6).toFixed(3)} MB/s of a ${(ceiling / 1e6).toFixed(3)} MB/s ceiling (${((got / ceiling) * 100).toFixed(1)} %)`,
    );
    // The link runs at its ceiling: the median whole second within 90-100 % of it. The whole run
    // must come close too, but a worker of the relay, target or initiator held off the CPU for a
    // few hundred ms (the test files run in parallel on two cores) costs the whole run a few %
    // that no real link would lose: 89.8 % once in CI, 99.8-100 % when run alone.
    const seconds = (r.timeline as Array<{ ms: number; read: { bytesPerSec: number } }>)
      .filter((x) => x.ms >= 900)
      .map((x) => x.read.bytesPerSec)
      .sort((a, b) => a - b);
    expect(seconds.length).toBeGreaterThanOrEqual(4);
    const median = seconds[Math.floor(seconds.length / 2)]!;
    expect(median / ceiling).toBeGreaterThanOrEqual(0.9);
    expect(median).toBeLessThanOrEqual(ceiling + 131072);
    expect(got / ceiling).toBeGreaterThanOrEqual(0.8);
    // At most the ceiling, give or take the one 128 KiB read whose transfer straddles the start or
    // the end of the measured time (I/Os are counted whole, by completion; the link carries them
    // one after another).
    expect(got).toBeLessThanOrEqual(ceiling + 131072 / r.durationSec);
    const e = r.summary.efficiency.read;
    expect(e.payloadCeilingBytesPerSec).toBe(Math.round(ceiling));
    expect(e.ofPayloadCeilingPct).toBeCloseTo((got / ceiling) * 100, 1);
    expect(e.ofLineRatePct).toBeCloseTo(((got * 8) / 100e6) * 100, 1);
    expect(r.jobs[0].efficiency.read.ofPayloadCeilingPct).toBeGreaterThan(0);
    expect(r.summary.efficiency.write).toBeNull();
  });

  it("compare of the 100 Mbit/s run against an unshaped baseline exits 1", async () => {
    const c = await runCli(["compare", unshaped, "--against", shaped, "--metric", "bytes"], dir);
    expect(c.code, c.stdout + c.stderr).toBe(1);
    expect(c.stdout).toContain("REGRESSION");
    expect(c.stdout).toContain("candidate: link 100 Mbit/s (emulated by --link, MTU 1500)");
    expect(c.stdout).toMatch(
      /reader read: \? \(baseline\) and (8\d|9\d|100)\.\d % \(candidate\) of the link's iSCSI payload ceiling/,
    );
  });

  it("--link-rate declares a real link (source option, or link-lab from its script)", async () => {
    const out = join(dir, "declared.json");
    const r = await runCli(
      ["run", workload, "--duration", "1s", "--link-rate", "1gbit,mtu=9000", "--quiet", "--out", out],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(out).link).toEqual({
      nominalBitsPerSec: 1e9,
      mtu: 9000,
      delayMs: 0,
      emulated: false,
      source: "option",
    });
    expect(r.stderr).toContain("link 1 Gbit/s (declared by --link-rate, MTU 9000):");
  });

  const bad: Array<[string[], string]> = [
    [["--link", "100mbps"], '--link: "100mbps": expected <n>[k|m|g]bit'],
    [["--link", "100mbit,mtu=20"], '--link: "mtu=20"'],
    [["--link", "100mbit", "--link-rate", "1gbit"], "--link and --link-rate: give one"],
    [["--link-rate", "unlimited"], "--link-rate: a real link has a rate"],
  ];
  for (const [args, message] of bad) {
    it(`bad input ${args.join(" ")}: one line, exit 2`, async () => {
      const r = await runCli(["run", workload, ...args, "--quiet"], dir);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
    });
  }
});
