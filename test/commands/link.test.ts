/**
 * `iscsi-bench link` on its own, as another initiator would use it: libiscsi's iscsi-perf reads
 * through an emulated 100 Mbit/s link from the built-in target at that link's payload rate; SIGINT
 * stops it cleanly with what it carried; bad options are one line and exit 2.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTarget } from "../../src/target/index.js";
import { buildDist, CLI, runCli } from "../engine/e2e.js";
import { requireBinaries, run } from "../target/libiscsi-peers.js";

requireBinaries(["iscsi-perf"]);

type Target = Awaited<ReturnType<typeof startTarget>>;
let target: Target;

beforeAll(async () => {
  buildDist();
  target = await startTarget({ port: 0, luns: [{ kind: "memory", sizeBytes: 256 * 1024 * 1024 }] });
}, 120_000);
afterAll(async () => {
  await target?.stop();
});

/** Starts the command and waits for its first line (where it listens). */
async function startLinkCommand(
  args: string[],
): Promise<{ child: ChildProcess; first: string; out: () => string }> {
  const child = spawn(process.execPath, [CLI, "link", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 15_000;
  while (!out.includes("\n") && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, first: out.split("\n")[0]!, out: () => out };
}

describe("iscsi-bench link", () => {
  it("iscsi-perf through an emulated 100 Mbit/s link reads at that link's payload rate", async () => {
    const url = new URL(target.url(0).replace("iscsi://", "http://"));
    const { child, first, out } = await startLinkCommand([
      "--listen",
      "127.0.0.1:0",
      "--to",
      `127.0.0.1:${url.port}`,
      "--rate",
      "100mbit",
    ]);
    try {
      const m =
        /^127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+: link 100 Mbit\/s \(emulated by iscsi-bench link, MTU 1500\), queue \d+ KiB each way$/.exec(
          first,
        );
      expect(m, first).not.toBeNull();
      const via = target.url(0).replace(`:${url.port}/`, `:${m![1]}/`);
      // 128 KiB reads (256 blocks of 512 bytes) at iscsi-perf's default depth, 4 s
      const perf = await run("iscsi-perf", ["-t", "4", "-b", "256", via], 30_000);
      expect(perf.code, perf.stderr).toBe(0);
      const avg = /iops average \d+ \((\d+) MB\/s\)/.exec(perf.stdout.split("\r").join("\n"));
      expect(avg, perf.stdout.slice(-300)).not.toBeNull();
      const mbs = Number(avg![1]);
      // the ceiling with libiscsi's 256 KiB segments: 12.5e6 × 262144 / (262192 × 1538/1448) = 11.77 MB/s
      // (iscsi-perf prints MiB/s-ish whole numbers: 10 or 11)
      expect(mbs).toBeGreaterThanOrEqual(10);
      expect(mbs).toBeLessThanOrEqual(12);
    } finally {
      child.kill("SIGINT");
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
    }
    expect(out()).toMatch(
      /carried over 1 connection\(s\) in [\d.]+ s: to the target [\d.]+ MB .*; from the target [\d.]+ MB/,
    );
  }, 60_000);

  const bad: Array<[string[], string]> = [
    [["--to", "127.0.0.1:3260", "--rate", "fast"], '--rate: "fast": expected <n>[k|m|g]bit'],
    [["--to", "::1", "--rate", "1gbit"], '--to: "::1": put an IPv6 address in brackets'],
    [["--to", "127.0.0.1:99999", "--rate", "1gbit"], '--to: "127.0.0.1:99999": port must be 0..65535'],
    [
      ["--listen", "127.0.0.1", "--to", "127.0.0.1", "--rate", "1gbit"],
      '--listen: "127.0.0.1": expected host:port',
    ],
    [["--rate", "1gbit"], "required option '--to <host:port>' not specified"],
  ];
  for (const [args, message] of bad) {
    it(`bad options ${args.join(" ")}: one line, exit 2`, async () => {
      const r = await runCli(["link", ...args], process.cwd(), 20_000);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
    });
  }
});
