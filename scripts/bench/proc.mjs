/**
 * Child processes for the benchmark: every one is tracked, bounded by a kill timer and killed
 * (SIGKILL) when the benchmark exits, however it exits. Loopback only.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every child still running: killed on exit. */
const live = new Set();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Spawns `bin args` and keeps it tracked. stdout/stderr are kept (the last 64 KiB of each) unless
 * `stdio` says otherwise. Returns the child and accessors.
 */
export function spawnTracked(bin, args, opts = {}) {
  const child = spawn(bin, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    // its own process group: a kill reaches what it started too (the `times` wrapper's child)
    detached: opts.group === true,
  });
  if (opts.group === true) {
    const kill = child.kill.bind(child);
    child.kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
        return true;
      } catch {
        return kill(signal);
      }
    };
  }
  live.add(child);
  let stdout = "";
  let stderr = "";
  const keep = (s) => (s.length > 65536 ? s.slice(-65536) : s);
  child.stdout.on("data", (d) => {
    stdout = keep(stdout + d.toString());
  });
  child.stderr.on("data", (d) => {
    stderr = keep(stderr + d.toString());
  });
  let exit = null;
  const exited = new Promise((resolve) => {
    child.once("error", (err) => {
      live.delete(child);
      exit = { code: null, signal: null, error: err.message };
      resolve(exit);
    });
    child.once("exit", (code, signal) => {
      live.delete(child);
      exit = { code, signal, error: null };
      resolve(exit);
    });
  });
  return {
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    hasExited: () => exit !== null,
  };
}

/**
 * Runs a command to completion, SIGKILLed after `timeoutMs`. Never rejects: the outcome says
 * what happened (`timedOut`, `code`, `error`).
 */
export async function runBounded(bin, args, timeoutMs, opts = {}) {
  if (opts.cpu === true) return runTimed(bin, args, timeoutMs, opts);
  const p = spawnTracked(bin, args, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.child.kill("SIGKILL");
  }, timeoutMs);
  if (opts.onStart) opts.onStart(p);
  const exit = await p.exited;
  clearTimeout(timer);
  return { ...exit, timedOut, stdout: p.stdout(), stderr: p.stderr() };
}

/** Stops a tracked process: `signal`, then SIGKILL after `graceMs`. */
export async function stopTracked(p, signal = "SIGTERM", graceMs = 5000) {
  if (p.hasExited()) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(t);
}

/** Absolute path of an executable in the usual directories (sbin included), or null. */
export function which(bin) {
  const dirs = [
    ...(process.env.PATH ?? "").split(":"),
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/usr/local/sbin",
    "/usr/local/bin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, bin);
    if (existsSync(p) && spawnSync("test", ["-x", p]).status === 0) return p;
  }
  return null;
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort() {
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

export function canConnect(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Resident set size of a process in bytes (/proc/<pid>/status VmRSS, else ps), or null. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (m) return Number(m[1]) * 1024;
  } catch {
    // no /proc (or the process is gone): try ps
  }
  const r = spawnSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8", timeout: 5000 });
  const kb = Number.parseInt((r.stdout ?? "").trim(), 10);
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
}

/**
 * Bytes received on the loopback interface so far (/proc/net/dev), or null. A sanity check of
 * the figures: a run cannot have moved more payload than loopback carried meanwhile (other
 * traffic on a shared machine only adds to it).
 */
export function loopbackBytes() {
  try {
    const m = /^\s*lo:\s*(\d+)/m.exec(readFileSync("/proc/net/dev", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** bash's `times` line of its children: "XmY.YYYs XmY.YYYs" (user, system). */
const TIMES = /^(\d+)m(\d+(?:\.\d+)?)s (\d+)m(\d+(?:\.\d+)?)s$/;

/**
 * runBounded with the CPU time (user + system, seconds, all threads, as the kernel accounted it
 * when the process was reaped) of `bin`: it runs under `bash -c '"$@"; times >&2'`, whose last
 * stderr line is its children's times. Resolves like runBounded plus `cpuSec` (null when unknown).
 */
async function runTimed(bin, args, timeoutMs, opts) {
  const script = '"$@"; s=$?; times >&2; exit $s';
  const r = await runBounded("bash", ["-c", script, "bench-timed", bin, ...args], timeoutMs, {
    ...opts,
    cpu: false,
    group: true,
  });
  const lines = r.stderr.split("\n");
  while (lines.length > 0 && lines.at(-1).trim() === "") lines.pop();
  const m = TIMES.exec((lines.at(-1) ?? "").trim());
  let cpuSec = null;
  if (m) {
    cpuSec = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
    lines.splice(-2, 2); // the shell's own line and its children's
  }
  return { ...r, stderr: lines.join("\n"), cpuSec };
}
