/**
 * The link emulator: a TCP relay on loopback shaping traffic like an Ethernet link of a given rate,
 * delay and MTU (see relay.ts). startLink() runs it in a worker thread, startLinkInProcess() in the
 * calling thread (tests); both resolve once it listens.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { FromLinkWorker, ToLinkWorker } from "./link-worker.js";
import { type RelayOptions, type RelayStats, startRelay } from "./relay.js";
import type { LinkSpec } from "./spec.js";

export * from "./ethernet.js";
export type { DirectionStats, RelayStats, ThreadCpu } from "./relay.js";
export { DEFAULT_QUEUE_BYTES, defaultQueueBytes, startRelay } from "./relay.js";
export * from "./spec.js";
export { type Clock, defaultBurstBytes, TokenBucket } from "./token-bucket.js";

export interface LinkOptions {
  listenHost: string;
  /** 0: any free port. */
  listenPort: number;
  to: { host: string; port: number };
  spec: LinkSpec;
}

export interface RunningLink {
  /** Where initiators connect. */
  host: string;
  port: number;
  spec: LinkSpec;
  /** The queue bound in effect per direction (spec.queueBytes or the default). */
  queueBytes: number;
  stats(): Promise<RelayStats>;
  /** Stops listening, resets open connections and ends the worker. Idempotent. */
  stop(): Promise<void>;
}

/** The relay's worker: compiled, dist/link/link-worker.js next to this file; from sources, dist's copy. */
function workerFile(): string {
  const here = import.meta.url;
  const url = here.endsWith(".ts")
    ? new URL("../../dist/link/link-worker.js", here)
    : new URL("./link-worker.js", here);
  return fileURLToPath(url);
}

const STOP_TIMEOUT_MS = 5000;

/** Runs the link emulator in a worker thread. Rejects if it cannot listen (the error's code kept). */
export function startLink(opts: LinkOptions): Promise<RunningLink> {
  const data: RelayOptions = {
    listenHost: opts.listenHost,
    listenPort: opts.listenPort,
    to: opts.to,
    spec: opts.spec,
  };
  const worker = new Worker(workerFile(), { workerData: data });
  const pending = new Map<number, { resolve: (s: RelayStats) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited: Error | null = null;
  let stopping: Promise<void> | null = null;

  return new Promise<RunningLink>((resolve, reject) => {
    const failAll = (e: Error): void => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    worker.on("error", (e) => {
      exited = e;
      failAll(e);
      reject(e);
    });
    worker.on("exit", (code) => {
      exited ??= new Error(`link worker exited (code ${code})`);
      failAll(exited);
      reject(exited);
    });
    worker.on("message", (m: FromLinkWorker) => {
      if (m.type === "listening") {
        resolve({
          host: m.host,
          port: m.port,
          spec: opts.spec,
          queueBytes: m.queueBytes,
          stats: () => {
            if (exited !== null) return Promise.reject(exited);
            const id = nextId++;
            return new Promise<RelayStats>((res, rej) => {
              pending.set(id, { resolve: res, reject: rej });
              worker.postMessage({ type: "stats", id } satisfies ToLinkWorker);
            });
          },
          stop: () => {
            stopping ??= new Promise<void>((done) => {
              if (exited !== null) return done();
              const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
              worker.once("exit", () => {
                clearTimeout(timer);
                done();
              });
              worker.postMessage({ type: "stop" } satisfies ToLinkWorker);
            });
            return stopping;
          },
        });
      } else if (m.type === "error") {
        const e = new Error(`link: cannot listen on ${opts.listenHost}:${opts.listenPort}: ${m.message}`);
        (e as NodeJS.ErrnoException).code = m.code ?? undefined;
        exited = e;
        reject(e);
      } else if (m.type === "stats") {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.resolve(m.stats);
      }
    });
  });
}

/** The same relay in the calling thread (tests, or where a worker is not wanted). */
export async function startLinkInProcess(opts: LinkOptions): Promise<RunningLink> {
  const relay = await startRelay(opts);
  let stopping: Promise<void> | null = null;
  return {
    host: relay.host,
    port: relay.port,
    spec: opts.spec,
    queueBytes: relay.queueBytes,
    stats: () => Promise.resolve(relay.stats()),
    stop: () => {
      stopping ??= relay.close();
      return stopping;
    },
  };
}
