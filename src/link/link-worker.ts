/**
 * The link emulator's worker thread: runs one relay (startRelay) off the main thread and off the
 * engine's workers, and answers the main thread's messages (see index.ts for the protocol).
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Relay, type RelayOptions, startRelay } from "./relay.js";

export type ToLinkWorker = { type: "stats"; id: number } | { type: "stop" };
export type FromLinkWorker =
  | { type: "listening"; host: string; port: number; queueBytes: number }
  | { type: "error"; message: string; code: string | null }
  | { type: "stats"; id: number; stats: ReturnType<Relay["stats"]> }
  | { type: "stopped" };

const port = parentPort!;
const post = (m: FromLinkWorker): void => port.postMessage(m);

async function main(): Promise<void> {
  let relay: Relay;
  try {
    relay = await startRelay(workerData as RelayOptions);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    post({ type: "error", message: err.message, code: err.code ?? null });
    port.close();
    return;
  }
  port.on("message", (m: ToLinkWorker) => {
    if (m.type === "stats") {
      post({ type: "stats", id: m.id, stats: relay.stats() });
    } else if (m.type === "stop") {
      void relay.close().then(() => {
        post({ type: "stopped" });
        port.close();
      });
    }
  });
  post({ type: "listening", host: relay.host, port: relay.port, queueBytes: relay.queueBytes });
}

void main();
