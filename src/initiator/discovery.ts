/**
 * SendTargets discovery (RFC 7143 section 4.3 and Appendix C): a Discovery session, one
 * `SendTargets=All` text exchange (continued responses are followed by session.text()), logout.
 */
import type { ChapCredentials } from "../iscsi/chap.js";
import type { TextPairs } from "../iscsi/text.js";
import { parseTargetAddress } from "./login.js";
import { openSessionOfType } from "./session.js";

export interface Portal {
  host: string;
  port: number;
  tpgt: number;
}

export interface DiscoveredTarget {
  name: string;
  portals: Portal[];
}

export interface DiscoveryOptions {
  host: string;
  port: number;
  initiatorName: string;
  chap?: ChapCredentials;
  timeoutMs?: number;
  headerDigest?: boolean;
  dataDigest?: boolean;
}

/**
 * Turns SendTargets response pairs into targets. A target without any TargetAddress is reachable
 * through the portal we asked (RFC 7143 Appendix C), with portal group tag `defaultTpgt`.
 */
export function parseSendTargets(pairs: TextPairs, discoveryPortal: Portal): DiscoveredTarget[] {
  const targets: DiscoveredTarget[] = [];
  let current: DiscoveredTarget | null = null;
  for (const [key, value] of pairs) {
    if (key === "TargetName") {
      current = { name: value, portals: [] };
      targets.push(current);
    } else if (key === "TargetAddress" && current) {
      const a = parseTargetAddress(value, discoveryPortal.port);
      current.portals.push({ host: a.host, port: a.port, tpgt: a.tpgt ?? discoveryPortal.tpgt });
    }
  }
  for (const t of targets) if (t.portals.length === 0) t.portals.push({ ...discoveryPortal });
  return targets;
}

export async function discoverTargets(options: DiscoveryOptions): Promise<DiscoveredTarget[]> {
  const session = await openSessionOfType({
    host: options.host,
    port: options.port,
    targetName: null,
    sessionType: "Discovery",
    initiatorName: options.initiatorName,
    chap: options.chap,
    timeoutMs: options.timeoutMs,
    headerDigest: options.headerDigest,
    dataDigest: options.dataDigest,
    nopIntervalMs: 0,
    // a SendTargets answer that does not come within the timeout ends the discovery
    commandTimeoutMs: options.timeoutMs,
  });
  try {
    const pairs = await session.text([["SendTargets", "All"]]);
    const portal: Portal = {
      host: options.host,
      port: options.port,
      tpgt: session.targetPortalGroupTag ?? 1,
    };
    const targets = parseSendTargets(pairs, portal);
    await session.logout();
    return targets;
  } finally {
    session.close();
  }
}
