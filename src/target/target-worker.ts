/**
 * Worker thread entry of startTarget: serves the target given in workerData, reports "ready"
 * (or "error"), posts one "log" message per fault that fires, and on a "stop" message stops it (flushing the LUNs) and reports "stopped".
 */
import { parentPort, workerData } from "node:worker_threads";
import { startTargetInProcess, type TargetOptions } from "./index.js";

const port = parentPort;
if (port !== null) {
  try {
    const target = await startTargetInProcess(workerData as TargetOptions, {
      log: (line) => port.postMessage({ type: "log", line }),
    });
    port.on("message", (msg: { type: string }) => {
      if (msg.type !== "stop") return;
      void target.stop().finally(() => {
        port.postMessage({ type: "stopped" });
        port.close();
      });
    });
    port.postMessage({
      type: "ready",
      host: target.host,
      port: target.port,
      iqn: target.iqn,
      luns: target.luns,
    });
  } catch (err) {
    const e = err as Error;
    port.postMessage({ type: "error", name: e.name, message: e.message });
    port.close();
  }
}
