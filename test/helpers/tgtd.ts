/**
 * Starts a private tgtd (Linux SCSI target framework) on loopback for interop tests: its own
 * control port (-C) and its own portal port, targets and LUNs backed by temp files, optional
 * CHAP accounts (incoming and outgoing/mutual) and target parameters. Each test file starts its
 * own instance on free ports, so files can run in parallel.
 *
 * requireTgtd() fails the calling test file when tgtd is missing: interop tests never skip.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requirePeers } from "./peers.js";

export interface TgtdLunSpec {
  sizeBytes: number;
  /** 512 (default) or 4096. */
  blockSize?: number;
}

export interface TgtdTargetSpec {
  iqn: string;
  /** LUN 1, 2, ... (LUN 0 is tgtd's controller LUN). Default: one 64 MiB LUN. */
  luns?: TgtdLunSpec[];
  /** Initiators must authenticate with this account. */
  chap?: { user: string; secret: string };
  /** Outgoing account: the target authenticates itself (mutual CHAP). */
  mutualChap?: { user: string; secret: string };
  /** iSCSI parameters of the target (`tgtadm --mode target --op update --name K --value V`). */
  params?: Record<string, string>;
}

export interface Tgtd {
  readonly host: string;
  readonly port: number;
  readonly ctlPort: number;
  /** iscsi://127.0.0.1:<port>/<iqn>/<lun> */
  url(iqn: string, lun?: number): string;
  /** Runs tgtadm against this instance. */
  admin(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Fails the calling test file unless tgtd and tgtadm are installed (see helpers/peers.ts). */
export function requireTgtd(): void {
  requirePeers(["tgtd", "tgtadm"], "tgt");
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

interface Daemon {
  child: ChildProcess;
  ctlPort: number;
  exited: () => boolean;
  log: () => string;
}

/** Spawns tgtd on `host:port` with a control port in tgtd's accepted range (1..32767). */
function spawnTgtd(host: string, port: number): Daemon {
  const ctlPort = 1024 + Math.floor(Math.random() * 31000);
  const child = spawn("tgtd", ["-f", "-C", String(ctlPort), "--iscsi", `portal=${host}:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
    if (log.length > 20000) log = log.slice(-10000);
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
    running.delete(child);
  });
  return { child, ctlPort, exited: () => exited, log: () => log };
}

/** Starts tgtd with the given targets (tid 1, 2, ...) and waits until its portal accepts connections. */
export async function startTgtd(targets: TgtdTargetSpec[]): Promise<Tgtd> {
  const host = "127.0.0.1";
  const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-tgtd-"));
  let port = await freePort();
  let d = spawnTgtd(host, port);
  const admin = (args: string[]) => run("tgtadm", ["-C", String(d.ctlPort), ...args]);
  const kill = async () => {
    if (!d.exited()) {
      const ok = await admin(["--op", "delete", "--mode", "system", "--force"]).then(
        () => true,
        () => false,
      );
      for (let i = 0; ok && i < 20 && !d.exited(); i++) await sleep(50);
      if (!d.exited()) d.child.kill("SIGKILL");
      for (let i = 0; i < 40 && !d.exited(); i++) await sleep(50);
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    // tgtd leaves its control socket and lock behind when killed
    for (const f of [`/var/run/tgtd/socket.${d.ctlPort}`, `/var/run/tgtd/socket.${d.ctlPort}.lock`])
      rmSync(f, { force: true });
  };
  try {
    const deadline = Date.now() + 15000;
    for (let attempt = 1; ; ) {
      if (Date.now() > deadline)
        throw new Error(`tgtd did not come up on ${host}:${port}: ${d.log().trim()}`);
      if (d.exited()) {
        // Most likely another tgtd owns this control port: try another one.
        if (attempt++ > 5)
          throw new Error(`tgtd exited at start: ${d.log().trim().split("\n").slice(-3).join(" | ")}`);
        d = spawnTgtd(host, port);
        continue;
      }
      const portals = await admin(["--op", "show", "--mode", "portal"]).catch(() => null);
      if (portals === null) {
        await sleep(100);
        continue;
      }
      // If the port was taken in the meantime, tgtd silently falls back to 0.0.0.0:3260: never use that.
      if (!portals.includes(`Portal: ${host}:${port},`)) {
        if (attempt++ > 5) throw new Error(`tgtd did not listen on ${host}:${port}: ${portals.trim()}`);
        await kill();
        port = await freePort();
        d = spawnTgtd(host, port);
        continue;
      }
      if (await canConnect(host, port)) break;
      await sleep(100);
    }
    let tid = 0;
    for (const t of targets) {
      tid++;
      const T = String(tid);
      await admin(["--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", T, "-T", t.iqn]);
      const luns = t.luns ?? [{ sizeBytes: 64 << 20 }];
      for (let i = 0; i < luns.length; i++) {
        const lun = luns[i]!;
        const file = join(dir, `t${tid}-lun${i + 1}.img`);
        writeFileSync(file, "");
        truncateSync(file, lun.sizeBytes);
        const args = [
          "--lld",
          "iscsi",
          "--op",
          "new",
          "--mode",
          "logicalunit",
          "--tid",
          T,
          "--lun",
          String(i + 1),
          "-b",
          file,
        ];
        if (lun.blockSize && lun.blockSize !== 512) args.push("--blocksize", String(lun.blockSize));
        await admin(args);
      }
      await admin(["--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", T, "-I", "ALL"]);
      if (t.chap) {
        await admin([
          "--lld",
          "iscsi",
          "--op",
          "new",
          "--mode",
          "account",
          "--user",
          t.chap.user,
          "--password",
          t.chap.secret,
        ]);
        await admin([
          "--lld",
          "iscsi",
          "--op",
          "bind",
          "--mode",
          "account",
          "--tid",
          T,
          "--user",
          t.chap.user,
        ]);
      }
      if (t.mutualChap) {
        const m = t.mutualChap;
        await admin([
          "--lld",
          "iscsi",
          "--op",
          "new",
          "--mode",
          "account",
          "--user",
          m.user,
          "--password",
          m.secret,
        ]);
        await admin([
          "--lld",
          "iscsi",
          "--op",
          "bind",
          "--mode",
          "account",
          "--tid",
          T,
          "--user",
          m.user,
          "--outgoing",
        ]);
      }
      for (const [name, value] of Object.entries(t.params ?? {})) {
        await admin([
          "--lld",
          "iscsi",
          "--op",
          "update",
          "--mode",
          "target",
          "--tid",
          T,
          "--name",
          name,
          "--value",
          value,
        ]);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host,
    port,
    get ctlPort() {
      return d.ctlPort;
    },
    url: (iqn: string, lun?: number) => `iscsi://${host}:${port}/${iqn}${lun === undefined ? "" : `/${lun}`}`,
    admin,
    stop,
  };
}
