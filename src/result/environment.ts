/**
 * What a run ran on: the tool, Node, the CPU, the target's identity and the negotiated
 * parameters, the link when known. Recorded in every result so that `compare` can say what
 * differed between two runs of the same work.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { formatLinkRate } from "../link/spec.js";
import type { Environment, LinkReport, RunResult, TargetReport } from "./types.js";

let cachedVersion: string | null = null;

/** The tool's version from package.json (two levels above src/result or dist/result). */
export function toolVersion(): string {
  if (cachedVersion === null) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
        version?: string;
      };
      cachedVersion = pkg.version ?? "0.0.0";
    } catch {
      cachedVersion = "0.0.0";
    }
  }
  return cachedVersion;
}

export function hostInfo(): RunResult["host"] {
  return { cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** The CPU model as the OS names it ("unknown" where it does not), white space folded. */
export function cpuModel(): string {
  const model = cpus()[0]?.model ?? "";
  return model.replace(/\s+/g, " ").trim() || "unknown";
}

export function buildEnvironment(target: TargetReport, link: LinkReport | null): Environment {
  return {
    tool: { name: "iscsi-bench", version: toolVersion() },
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: cpuModel(), count: cpus().length },
    target: {
      builtin: target.builtin,
      vendor: target.vendor,
      product: target.product,
      revision: target.revision,
      blockSize: target.blockSize,
      capacityBytes: target.capacityBytes,
    },
    negotiated: target.negotiated,
    link,
  };
}

/** "100 Mbit/s emulated, MTU 1500", "1 Gbit/s declared, MTU 9000, 2 ms delay" */
function linkText(l: LinkReport): string {
  const delay = l.delayMs > 0 ? `, ${l.delayMs} ms delay` : "";
  return `${formatLinkRate(l.nominalBitsPerSec)} ${l.emulated ? "emulated" : "declared"}, MTU ${l.mtu}${delay}`;
}

/** "node: v20.1.0 vs v22.0.0" lines for every environment key that differs. */
export function environmentDiff(a: Environment | undefined, b: Environment | undefined): string[] {
  if (a === undefined || b === undefined) return [];
  const out: string[] = [];
  const flat = (e: Environment): Record<string, string> => {
    const m: Record<string, string> = {
      "tool.version": e.tool.version,
      node: e.node,
      platform: e.platform,
      "cpu.model": e.cpu.model,
      "cpu.count": String(e.cpu.count),
      "target.builtin": String(e.target.builtin),
      "target.vendor": e.target.vendor,
      "target.product": e.target.product,
      "target.revision": e.target.revision,
      "target.blockSize": String(e.target.blockSize),
      "target.capacityBytes": String(e.target.capacityBytes),
      link: e.link === null ? "none" : linkText(e.link),
    };
    for (const [k, v] of Object.entries(e.negotiated ?? {})) m[`negotiated.${k}`] = String(v);
    return m;
  };
  const fa = flat(a);
  const fb = flat(b);
  for (const k of [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort()) {
    if (fa[k] !== fb[k]) out.push(`${k}: ${fa[k] ?? "(none)"} vs ${fb[k] ?? "(none)"}`);
  }
  return out;
}
