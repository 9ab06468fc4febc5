/**
 * The built-in iSCSI target: startTargetInProcess serves on this thread (tests, fuzzing, the
 * standalone command); startTarget serves from a worker thread so that a benchmark's statistics
 * never compete with serving I/O.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InputError } from "../common/errors.js";
import { createLogicalUnit, type LogicalUnit, type LuContext } from "./logical-unit.js";
import { type LunSpec, resolveTargetOptions, type TargetOptions } from "./options.js";
import { Portal } from "./portal.js";

export type { LunSpec, TargetOptions } from "./options.js";

/** What the target tells its owner while it runs: one line per fault that fires (see faults.ts). */
export interface TargetEvents {
  log?: (line: string) => void;
}

export interface RunningTarget {
  readonly host: string;
  readonly port: number;
  readonly iqn: string;
  /** One iscsi:// URL per LUN. */
  readonly urls: string[];
  /** What backs each LUN, e.g. "memory LUN 1 GiB (tmpfs)" (see LogicalUnit.description). */
  readonly luns: string[];
  url(lun?: number): string;
  stop(): Promise<void>;
}

export function targetUrl(host: string, port: number, iqn: string, lun: number): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `iscsi://${h}:${port}/${iqn}/${lun}`;
}

function running(
  host: string,
  port: number,
  iqn: string,
  luns: string[],
  stop: () => Promise<void>,
): RunningTarget {
  const urls = luns.map((_, i) => targetUrl(host, port, iqn, i));
  let stopping: Promise<void> | null = null;
  return {
    host,
    port,
    iqn,
    urls,
    luns,
    url: (lun = 0) => targetUrl(host, port, iqn, lun),
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Serves on the calling thread. Rejects with InputError on bad options, or the listen error. */
export async function startTargetInProcess(
  options: TargetOptions,
  events: TargetEvents = {},
): Promise<RunningTarget> {
  const config = resolveTargetOptions(options);
  const lunNumbers = config.luns.map((_, i) => i);
  const ctx: LuContext = { targetName: config.iqn, lunList: () => lunNumbers, blockSize: config.blockSize };
  const lus: LogicalUnit[] = [];
  try {
    for (const [i, spec] of config.luns.entries()) lus.push(await createLogicalUnit(i, spec as LunSpec, ctx));
    const portal = new Portal(config, lus, ctx, events.log);
    const addr = await portal.listen();
    const luns = lus.map((lu) => lu.description);
    return running(addr.host, addr.port, config.iqn, luns, async () => {
      await portal.close();
      for (const lu of lus) {
        await lu.flush().catch(() => {});
        await lu.close().catch(() => {});
      }
    });
  } catch (err) {
    for (const lu of lus) await lu.close().catch(() => {});
    throw err;
  }
}

/** Where the compiled worker entry is: next to this file, or in dist/ when running from sources. */
function workerEntry(): URL | null {
  const here = new URL("./target-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const fromSrc = fileURLToPath(import.meta.url).replace(
    /[\\/]src[\\/]target[\\/]index\.ts$/,
    "/dist/target/target-worker.js",
  );
  return fromSrc.endsWith("target-worker.js") && existsSync(fromSrc) ? new URL(`file://${fromSrc}`) : null;
}

type WorkerReply =
  | { type: "ready"; host: string; port: number; iqn: string; luns: string[] }
  | { type: "error"; name: string; message: string }
  | { type: "stopped" }
  | { type: "log"; line: string };

/** Serves from a worker thread (falls back to this thread when no compiled worker entry exists). */
export async function startTarget(options: TargetOptions, events: TargetEvents = {}): Promise<RunningTarget> {
  resolveTargetOptions(options); // bad options fail here, with the InputError itself
  const entry = workerEntry();
  if (entry === null) return startTargetInProcess(options, events);
  const worker = new Worker(entry, { workerData: options });
  return new Promise<RunningTarget>((resolve, reject) => {
    let started = false;
    let onStopped: (() => void) | null = null;
    worker.on("message", (msg: WorkerReply) => {
      if (msg.type === "log") {
        events.log?.(msg.line);
      } else if (msg.type === "ready") {
        started = true;
        resolve(
          running(msg.host, msg.port, msg.iqn, msg.luns, () => {
            return new Promise<void>((done) => {
              onStopped = done;
              worker.postMessage({ type: "stop" });
            });
          }),
        );
      } else if (msg.type === "error") {
        const err = msg.name === "InputError" ? new InputError(msg.message) : new Error(msg.message);
        reject(err);
        void worker.terminate();
      } else if (msg.type === "stopped") {
        void worker.terminate().then(() => onStopped?.());
      }
    });
    worker.on("error", (err) => {
      if (!started) reject(err);
    });
    worker.on("exit", () => {
      if (!started) reject(new Error("target worker exited before it was ready"));
      onStopped?.();
    });
  });
}
