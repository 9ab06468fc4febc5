/**
 * Recovery end to end, through the compiled CLI: a verify run on the built-in target whose
 * connections are closed every second (run --fault close-every) finishes clean (exit 0, no I/O
 * error, no mismatch) with the recovery counted per job, per repetition, per interval and in
 * total; and a target that goes away for longer than --recovery-timeout stops the run with exit 1
 * and one line that says how long the session waited.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningTarget, startTarget } from "../../src/target/index.js";
import { buildDist, checkRecovery, runCli } from "./e2e.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-recovery-"));
let target: RunningTarget | null = null;
beforeAll(() => buildDist(), 180_000);
afterAll(async () => {
  await target?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: parsed result JSON
const readJson = (p: string): any => JSON.parse(readFileSync(p, "utf8"));

/** A TCP relay in front of the target that can cut one connection and refuse new ones. */
function relay(to: { host: string; port: number }, onConnection: (n: number) => void) {
  const byNumber = new Map<number, Socket[]>();
  let count = 0;
  const server: Server = createServer((client) => {
    count++;
    const upstream = tcpConnect(to.port, to.host);
    byNumber.set(count, [client, upstream]);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    onConnection(count);
  });
  return {
    listen: () =>
      new Promise<number>((res) =>
        server.listen(0, "127.0.0.1", () => res((server.address() as { port: number }).port)),
      ),
    /** Refuses new connections and cuts connection `n` (1: the first). */
    cut: (n: number) => {
      server.close();
      for (const s of byNumber.get(n) ?? []) s.destroy();
    },
  };
}

describe("recovery", () => {
  it("a verify run whose connections close every second finishes clean, the recovery counted", async () => {
    const out = join(dir, "close-every.json");
    const r = await runCli(
      [
        "run",
        join(process.cwd(), "workloads", "verify.json"),
        "--duration",
        "4s",
        "--fault",
        "close-every=1s",
        "--out",
        out,
        "--quiet",
      ],
      dir,
      120_000,
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(r.code, r.stderr).toBe(0);
    const res = readJson(out);
    expect(res.schemaVersion).toBe(3);
    expect(res.summary.errors).toBe(0);
    expect(res.summary.verify.mismatches).toBe(0);
    expect(res.summary.verify.blocksChecked).toBeGreaterThan(0);
    const rec = res.summary.recovery;
    // two workers, each session closed about every second for 4 s (and the read-back after)
    expect(rec.reconnects).toBeGreaterThanOrEqual(2);
    expect(rec.reinstatements).toBe(rec.reconnects);
    expect(res.summary.reconnects).toBe(rec.reconnects);
    checkRecovery(res, false);
    // the timeline shows the reconnects of the measured seconds (those of the ramp-less run's
    // read-back come after the last interval)
    const inTimeline = res.timeline.reduce((n: number, e: { reconnects: number }) => n + e.reconnects, 0);
    expect(inTimeline).toBeGreaterThan(0);
    expect(inTimeline).toBeLessThanOrEqual(rec.reconnects);
    expect(r.stderr).toMatch(/^recovery: \d+ reconnects? \(\d+ reinstatements?\)/m);
  }, 180_000);

  it("a session that cannot come back within --recovery-timeout stops the run: exit 1, how long it waited", async () => {
    target = await startTarget({ port: 0, luns: [{ kind: "memory", sizeBytes: 64 * 1024 * 1024 }] });
    let cutAt = 0;
    let timer: NodeJS.Timeout | null = null;
    const r0 = relay({ host: target.host, port: target.port }, (n) => {
      // the first connection reads the device, the next two are the workers' sessions: cut the
      // last one once it ran a while; the other worker's session is fine, and stops with the run
      if (n === 3 && timer === null)
        timer = setTimeout(() => {
          cutAt = Date.now();
          r0.cut(3);
        }, 1500);
    });
    const port = await r0.listen();
    const workload = join(dir, "reads.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "reads",
        duration: "30s",
        rampTime: 0,
        jobs: [
          { name: "reader", readPercent: 100, blockSize: "4KiB", queueDepth: 4, workers: 2, size: "32MiB" },
        ],
      }),
    );
    const started = Date.now();
    const r = await runCli(
      [
        "run",
        workload,
        "--target",
        `iscsi://127.0.0.1:${port}/${target.iqn}/0`,
        "--recovery-timeout",
        "1s",
        "--out",
        join(dir, "timeout.json"),
        "--quiet",
      ],
      dir,
      60_000,
    );
    if (timer !== null) clearTimeout(timer);
    const elapsed = Date.now() - started;
    expect(cutAt, "the relay cut the session").toBeGreaterThan(0);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("iscsi-bench: error:"));
    expect(lines).toHaveLength(1);
    const m = /^iscsi-bench: error: no working session for (\d+\.\d) s: gave up recovering/.exec(lines[0]!);
    expect(m, lines[0]).not.toBeNull();
    const waited = Number(m![1]);
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(waited).toBeLessThan(30);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    // long before the 30 s duration: the failed worker stopped the other one
    expect(elapsed).toBeLessThan(25_000);
  }, 120_000);
});
