/** Human-readable (and JSON) output of `info` and `discover`. */
import type { DeviceInfo } from "../initiator/device.js";
import type { DiscoveredTarget } from "../initiator/discovery.js";
import type { OperationalParams } from "../iscsi/params.js";
import { associationName, designatorTypeName, deviceTypeName } from "../scsi/inquiry.js";

export interface InfoContext {
  /** The URL without secrets. */
  url: string;
  targetName: string;
  lun: number;
  negotiated: OperationalParams;
}

/** The JSON object `info --json` prints: the contract keys first, then the details. */
export function infoJson(info: DeviceInfo, ctx: InfoContext): Record<string, unknown> {
  return {
    vendor: info.vendor,
    product: info.product,
    revision: info.revision,
    serial: info.serial,
    blockSize: info.blockSize,
    blocks: info.blocks,
    capacityBytes: info.capacityBytes,
    negotiated: { ...ctx.negotiated },
    url: ctx.url,
    target: ctx.targetName,
    lun: ctx.lun,
    deviceType: info.deviceType,
    thinProvisioned: info.thinProvisioned,
    blockLimits: info.blockLimits,
    designators: info.designators,
  };
}

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${Number(v.toFixed(2))} ${units[i]}`;
}

function yesNo(b: boolean): string {
  return b ? "Yes" : "No";
}

function table(rows: Array<[string, string]>, indent = ""): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${(k + ":").padEnd(width + 2)}${v}\n`).join("");
}

export function formatDeviceInfo(info: DeviceInfo, ctx: InfoContext): string {
  const n = ctx.negotiated;
  let out = table([
    ["Target", ctx.targetName],
    ["LUN", String(ctx.lun)],
    ["Device type", deviceTypeName(info.deviceType)],
    ["Vendor", info.vendor],
    ["Product", info.product],
    ["Revision", info.revision],
    ["Serial", info.serial ?? "(none)"],
    ["Block size", `${info.blockSize} bytes`],
    ["Blocks", String(info.blocks)],
    ["Capacity", `${info.capacityBytes} bytes (${humanBytes(info.capacityBytes)})`],
    ["Thin provisioned", yesNo(info.thinProvisioned)],
  ]);
  if (info.blockLimits) {
    const b = info.blockLimits;
    const blocks = (v: number) => (v === 0 ? "not reported" : `${v} blocks`);
    out += "Block limits:\n";
    out += table(
      [
        ["Max transfer", blocks(b.maxTransferBlocks)],
        ["Optimal transfer", blocks(b.optimalTransferBlocks)],
        ["Optimal granularity", blocks(b.optimalTransferGranularity)],
        ["Max unmap", blocks(b.maxUnmapLbaCount)],
        ["Max write same", blocks(b.maxWriteSameBlocks)],
      ],
      "  ",
    );
  }
  if (info.designators.length > 0) {
    out += "Identifiers:\n";
    out += table(
      info.designators.map((d): [string, string] => [
        `${designatorTypeName(d.type)} (${associationName(d.association)})`,
        d.value,
      ]),
      "  ",
    );
  }
  out += "Negotiated:\n";
  out += table(
    [
      ["HeaderDigest", n.headerDigest ? "CRC32C" : "None"],
      ["DataDigest", n.dataDigest ? "CRC32C" : "None"],
      [
        "MaxRecvDataSegmentLength",
        `${n.maxRecvDataSegmentLength} (ours), ${n.peerMaxRecvDataSegmentLength} (target)`,
      ],
      ["MaxBurstLength", String(n.maxBurstLength)],
      ["FirstBurstLength", String(n.firstBurstLength)],
      ["InitialR2T", yesNo(n.initialR2T)],
      ["ImmediateData", yesNo(n.immediateData)],
      ["MaxOutstandingR2T", String(n.maxOutstandingR2T)],
      ["DataPDUInOrder", yesNo(n.dataPDUInOrder)],
      ["DataSequenceInOrder", yesNo(n.dataSequenceInOrder)],
      ["DefaultTime2Wait", String(n.defaultTime2Wait)],
      ["DefaultTime2Retain", String(n.defaultTime2Retain)],
      ["ErrorRecoveryLevel", String(n.errorRecoveryLevel)],
      ["MaxConnections", String(n.maxConnections)],
    ],
    "  ",
  );
  return out;
}

/** `discover` without --json: each target, then its portals indented. */
export function formatTargets(targets: DiscoveredTarget[]): string {
  if (targets.length === 0) return "No targets found.\n";
  let out = "";
  for (const t of targets) {
    out += `${t.name}\n`;
    for (const p of t.portals) {
      const host = p.host.includes(":") ? `[${p.host}]` : p.host;
      out += `  ${host}:${p.port},${p.tpgt}\n`;
    }
  }
  return out;
}
