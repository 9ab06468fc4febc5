/**
 * Link efficiency of a result: per operation, its payload throughput as a percentage of the line
 * rate and of the most iSCSI payload TCP/IPv4 over Ethernet can carry on that link (src/link/
 * ethernet.ts). Reads travel as Data-In PDUs no larger than the initiator's declared
 * MaxRecvDataSegmentLength, writes as Data-Out (and immediate data) no larger than the target's;
 * each direction of a full-duplex link carries one of them.
 */
import { efficiency } from "../link/ethernet.js";
import type { Efficiency, LinkReport, OpEfficiency, OpSummary, TargetReport } from "./types.js";

const round2 = (x: number): number => Math.round(x * 100) / 100;

function num(v: unknown): number | null {
  return typeof v === "number" && v > 0 ? v : null;
}

function opEfficiency(
  op: OpSummary,
  link: LinkReport,
  segment: number | null,
  negotiated: Record<string, unknown>,
): OpEfficiency | null {
  if (op.ios === 0 || segment === null || !(link.nominalBitsPerSec > 0)) return null;
  const e = efficiency(
    op.bytesPerSec,
    { bitsPerSec: link.nominalBitsPerSec, mtu: link.mtu },
    {
      maxRecvDataSegmentLength: segment,
      headerDigest: negotiated["headerDigest"] === true,
      dataDigest: negotiated["dataDigest"] === true,
    },
  );
  return {
    ofLineRatePct: round2(e.ofLineRatePct),
    ofPayloadCeilingPct: round2(e.ofPayloadCeilingPct),
    payloadCeilingBytesPerSec: Math.round(e.payloadCeilingBytesPerSec),
  };
}

/** Null without a link; an operation is null when it did nothing or the parameters are unknown. */
export function efficiencyOf(
  link: LinkReport | null,
  target: Pick<TargetReport, "negotiated">,
  ops: { read: OpSummary; write: OpSummary },
): Efficiency | null {
  if (link === null) return null;
  const n = target.negotiated ?? {};
  return {
    read: opEfficiency(ops.read, link, num(n["maxRecvDataSegmentLength"]), n),
    write: opEfficiency(ops.write, link, num(n["peerMaxRecvDataSegmentLength"]), n),
  };
}
