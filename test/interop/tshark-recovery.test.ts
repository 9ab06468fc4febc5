/**
 * A tshark capture of a recovery: the built-in target in its own process closes every connection
 * after 200 SCSI commands (`target --fault close-after=200`), and a verify run against it (header
 * and data digests on) recovers each time. On the wire: the worker's session logs in again and again
 * on new TCP connections with the same ISID and TSIH 0 (session reinstatement, RFC 7143 6.3.5), the
 * target accepts each login, SCSI commands follow on the new connections, and tshark finds no
 * malformed PDU and no error-level expert item.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, CLI, checkRecovery, runCli } from "../engine/e2e.js";
import { requirePeers } from "../helpers/peers.js";

requirePeers(["tshark"], "tshark");

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-pcap-recovery-"));
const children: ChildProcess[] = [];
beforeAll(() => buildDist(), 180_000);
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function tshark(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile("tshark", args, { timeout: 60_000, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`tshark ${args.join(" ")}: ${stderr || err.message}`));
      else res(stdout);
    });
  });
}

/** Spawns `cmd args`, resolves once `ready` matches its `stream` output (what matched), bounded. */
function startProcess(
  cmd: string,
  args: string[],
  stream: "stdout" | "stderr",
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; exited: Promise<void>; stderr: () => string }> {
  const child = spawn(cmd, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} not ready within 20 s: ${err}`)), 20_000);
    child[stream]!.on("data", (d: Buffer) => {
      if (stream === "stdout") out += d.toString();
      const m = ready.exec(stream === "stdout" ? out : err);
      if (m) {
        clearTimeout(timer);
        res({ child, match: m, exited, stderr: () => err });
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      rej(new Error(`${cmd} exited: ${err}`));
    });
  });
}

const lines = (s: string): string[][] =>
  s
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t"));

describe("tshark capture of a session recovery", () => {
  it("shows logins with the old ISID and TSIH 0 on new connections, SCSI commands after them, nothing malformed", async () => {
    const target = await startProcess(
      process.execPath,
      [CLI, "target", "--port", "0", "--lun", "64MiB", "--fault", "close-after=200"],
      "stdout",
      /^(iscsi:\/\/127\.0\.0\.1:(\d+)\/[^/\s]+\/0)\n/,
    );
    const url = target.match[1]!;
    const port = Number(target.match[2]);

    const file = join(dir, "recovery.pcap");
    const capture = await startProcess(
      "tshark",
      ["-i", "lo", "-f", `tcp port ${port}`, "-w", file],
      "stderr",
      /Capturing on/,
    );
    await new Promise((r) => setTimeout(r, 500)); // the message comes slightly before packets are captured

    const workload = join(dir, "paced-verify.json");
    writeFileSync(
      workload,
      JSON.stringify({
        name: "paced-verify",
        duration: "3s",
        rampTime: 0,
        jobs: [
          {
            name: "verify",
            pattern: "random",
            readPercent: 50,
            blockSize: "4KiB",
            queueDepth: 4,
            workers: 1,
            size: "16MiB",
            verify: true,
            seed: 5,
            rate: { iops: 500 }, // about 1500 commands: a few reconnects, a small capture
          },
        ],
      }),
    );
    const out = join(dir, "result.json");
    const r = await runCli(
      [
        "run",
        workload,
        "--target",
        url,
        "--allow-write",
        "--header-digest",
        "--data-digest",
        "--out",
        out,
        "--quiet",
      ],
      dir,
      120_000,
    );
    await new Promise((res) => setTimeout(res, 500)); // let the last packets reach the capture
    capture.child.kill("SIGINT");
    await capture.exited;
    target.child.kill("SIGTERM");
    await target.exited;

    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(res.summary.errors).toBe(0);
    expect(res.summary.verify.mismatches).toBe(0);
    checkRecovery(res, false);
    const rec = res.summary.recovery;
    expect(rec.reinstatements).toBeGreaterThanOrEqual(1);
    expect(target.stderr()).toContain("fault close-after=200: closing");

    const decode = ["-r", file, "-d", `tcp.port==${port},iscsi`];
    const bad = await tshark([...decode, "-Y", "_ws.malformed || _ws.expert.severity == error"]);
    expect(bad).toBe("");

    // Login Requests (opcode 0x03): TCP stream, ISID, TSIH
    const fields = (filter: string, names: string[]) =>
      tshark([...decode, "-Y", filter, "-T", "fields", ...names.flatMap((n) => ["-e", n])]).then(lines);
    const requests = await fields("iscsi.opcode == 0x03", ["tcp.stream", "iscsi.isid", "iscsi.tsih"]);
    const responses = await fields("iscsi.opcode == 0x23", [
      "tcp.stream",
      "iscsi.tsih",
      "iscsi.login.status",
      "iscsi.login.T",
      "iscsi.login.nsg",
    ]);
    // frames that carry a SCSI Command PDU (opcode 0x01), by stream
    const commands = await fields("iscsi.opcode == 0x01", ["tcp.stream"]);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    // the streams each ISID logged in on, in capture order
    const streamsByIsid = new Map<string, number[]>();
    for (const [stream, isid, tsih] of requests) {
      expect(isid, "every Login Request names its ISID").toMatch(/^[0-9a-f]{12}$/);
      const s = streamsByIsid.get(isid!) ?? [];
      if (!s.includes(Number(stream))) s.push(Number(stream));
      streamsByIsid.set(isid!, s);
      // every leading login here is a new session or a reinstatement: TSIH 0 (never a reconnect
      // into a live session, which would name its TSIH)
      expect(Number(tsih), `Login Request on stream ${stream}`).toBe(0);
    }
    const [isid, streams] = [...streamsByIsid.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    expect(streams.length, `ISID ${isid} logged in on new connections`).toBeGreaterThanOrEqual(2);
    // the first login and one per reinstatement the run counted (no more)
    expect(streams.length).toBeLessThanOrEqual(rec.reinstatements + 1);
    const later = streams.slice(1);
    const commandsOn = (s: number) => commands.filter(([c]) => Number(c) === s).length;
    for (const s of later) {
      // the target accepted the reinstatement: the Login Response that moves to full feature
      // phase (T bit, NSG 3), status 0, with the new session's TSIH
      const final = responses.filter(
        ([st, , , t, nsg]) => Number(st) === s && (t === "True" || t === "1") && Number(nsg) === 3,
      );
      expect(final.length, `final Login Response on stream ${s}`).toBeGreaterThanOrEqual(1);
      expect(Number(final[0]![2]), `login status on stream ${s}`).toBe(0);
      expect(Number(final[0]![1]), `TSIH of stream ${s}`).toBeGreaterThan(0);
    }
    // SCSI commands after the second login
    expect(commandsOn(later[0]!)).toBeGreaterThan(0);
    console.info(
      `close-after=200, 3 s at 500 IOPS: ${rec.reinstatements} reinstatements, ${rec.reissued} re-issued; ` +
        `capture: ${requests.length} Login Requests, ISID ${isid} on ${streams.length} connections, ` +
        `${commandsOn(later[0]!)} frames with SCSI commands on the second, ${commands.length} in all`,
    );
  }, 200_000);
});
