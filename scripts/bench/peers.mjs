/**
 * The targets the benchmark measures against, each started and stopped by the benchmark itself on
 * 127.0.0.1: tgtd (a private instance: its own control port, its own portal port, a sparse temp
 * backing file) and the built-in target run standalone (`node dist/cli.js target`).
 * The tgtd logic mirrors test/helpers/tgtd.ts (portal-port check included).
 */
import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canConnect, freePort, sleep, spawnTracked, stopTracked } from "./proc.mjs";

const HOST = "127.0.0.1";
export const TGTD_IQN = "iqn.2026-11.io.iscsi-bench:bench-tgtd";

function tgtadm(ctlPort, args) {
  return new Promise((resolve, reject) => {
    execFile("tgtadm", ["-C", String(ctlPort), ...args], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tgtadm ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** tgtd on HOST:port with a control port in tgtd's accepted range (1..32767). */
function spawnTgtd(port) {
  const ctlPort = 1024 + Math.floor(Math.random() * 31000);
  const p = spawnTracked("tgtd", ["-f", "-C", String(ctlPort), "--iscsi", `portal=${HOST}:${port}`]);
  return { p, ctlPort };
}

/**
 * Where tgtd's backing file goes: tmpfs (/dev/shm) when writable, so that tgtd, like the built-in
 * target's memory LUN, serves from memory and not from whatever disk backs the temp directory.
 */
function backingRoot() {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

/**
 * Starts tgtd with one target (tid 1) and LUN 1 backed by a sparse file of `lunBytes`, bound to
 * all initiators. Resolves to { url, backing, stop() }.
 */
export async function startTgtd(lunBytes) {
  const dir = mkdtempSync(join(backingRoot(), "iscsi-bench-bench-tgtd-"));
  let port = await freePort();
  let d = spawnTgtd(port);
  const kill = async () => {
    if (d.p.hasExited()) return;
    const ok = await tgtadm(d.ctlPort, ["--op", "delete", "--mode", "system", "--force"]).then(
      () => true,
      () => false,
    );
    for (let i = 0; ok && i < 20 && !d.p.hasExited(); i++) await sleep(50);
    await stopTracked(d.p, "SIGKILL", 2000);
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 15000;
    for (let attempt = 1; ; ) {
      if (Date.now() > deadline) throw new Error(`tgtd did not come up on ${HOST}:${port}: ${d.p.stderr()}`);
      if (d.p.hasExited()) {
        // Most likely another tgtd owns this control port: try another one.
        if (attempt++ > 5) throw new Error(`tgtd exited at start: ${d.p.stderr().trim().split("\n").pop()}`);
        d = spawnTgtd(port);
        continue;
      }
      const portals = await tgtadm(d.ctlPort, ["--op", "show", "--mode", "portal"]).catch(() => null);
      if (portals === null) {
        await sleep(100);
        continue;
      }
      // If the port was taken meanwhile, tgtd silently falls back to 0.0.0.0:3260: never use that.
      if (!portals.includes(`Portal: ${HOST}:${port},`)) {
        if (attempt++ > 5) throw new Error(`tgtd did not listen on ${HOST}:${port}: ${portals.trim()}`);
        await kill();
        port = await freePort();
        d = spawnTgtd(port);
        continue;
      }
      if (await canConnect(HOST, port)) break;
      await sleep(100);
    }
    const file = join(dir, "lun1.img");
    writeFileSync(file, "");
    truncateSync(file, lunBytes);
    const admin = (args) => tgtadm(d.ctlPort, ["--lld", "iscsi", ...args]);
    await admin(["--op", "new", "--mode", "target", "--tid", "1", "-T", TGTD_IQN]);
    await admin(["--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", file]);
    await admin(["--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: "tgtd",
    url: `iscsi://${HOST}:${port}/${TGTD_IQN}/1`,
    backing: join(dir, "lun1.img"),
    pid: () => d.p.pid,
    stop,
  };
}

/**
 * Starts the built-in target standalone (`node <cli> target --port P --lun <lun>`) and waits for
 * the URL it prints. Resolves to { url, pid, stop() } (SIGTERM, SIGKILL after 5 s).
 */
export async function startBuiltinTarget(cli, lun, cwd) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const p = spawnTracked(
      process.execPath,
      [cli, "target", "--host", HOST, "--port", String(port), "--lun", lun],
      {
        cwd,
      },
    );
    const deadline = Date.now() + 15000;
    while (!p.hasExited() && Date.now() < deadline && !/^iscsi:\/\/\S+/m.test(p.stdout())) await sleep(50);
    const m = /^(iscsi:\/\/\S+)/m.exec(p.stdout());
    if (m && !p.hasExited() && (await canConnect(HOST, port))) {
      return { name: "built-in", url: m[1], pid: () => p.pid, stop: () => stopTracked(p, "SIGTERM", 5000) };
    }
    await stopTracked(p, "SIGKILL", 1000);
    // The port may have been taken between freePort() and listen(): try another one.
    if (attempt >= 3)
      throw new Error(`built-in target did not start: ${p.stderr().trim() || "no URL printed"}`);
  }
}
