/**
 * Link efficiency in a result: the direction and PDU size each operation's payload travels with,
 * against figures computed by hand.
 */
import { describe, expect, it } from "vitest";
import { efficiencyOf } from "../../src/result/efficiency.js";
import type { LinkReport } from "../../src/result/types.js";
import { op } from "./fixture.js";

const link: LinkReport = {
  nominalBitsPerSec: 100e6,
  mtu: 1500,
  delayMs: 0,
  emulated: true,
  source: "--link",
};

describe("efficiencyOf", () => {
  it("reads use the initiator's MaxRecvDataSegmentLength, writes the target's", () => {
    // 11.0 MB/s of reads and 5.5 MB/s of writes (8 KiB and 256 KiB PDUs)
    const read = op(1375, 8000, 100, 1); // 11,000,000 B/s
    const write = op(1375, 4000, 100, 1); // 5,500,000 B/s
    const e = efficiencyOf(
      link,
      { negotiated: { maxRecvDataSegmentLength: 8192, peerMaxRecvDataSegmentLength: 262144 } },
      { read, write },
    )!;
    // by hand (python3: 12.5e6*L/((48+L)*1538/1448)): ceiling = 12.5e6 × L / ((48 + L) × 1538/1448)
    //   L = 8192:   12.5e6 × 8192 / (8240 × 1.062154696) = 11,699,976 B/s
    //   L = 262144: 12.5e6 × 262144 / (262192 × 1.062154696) = 11,766,376 B/s
    expect(e.read!.payloadCeilingBytesPerSec).toBe(11699976);
    expect(e.write!.payloadCeilingBytesPerSec).toBe(11766376);
    expect(e.read!.ofLineRatePct).toBe(88); // 11e6 × 8 / 100e6
    expect(e.read!.ofPayloadCeilingPct).toBe(94.02); // 11e6 / 11,699,976
    expect(e.write!.ofPayloadCeilingPct).toBe(46.74); // 5.5e6 / 11,766,376
  });

  it("digests add 8 bytes per PDU; no link, no figures; an idle operation has none", () => {
    const read = op(1000, 8192, 100, 1);
    const idle = op(0, 0, 0, 1);
    const n = { maxRecvDataSegmentLength: 8192, peerMaxRecvDataSegmentLength: 8192 };
    const plain = efficiencyOf(link, { negotiated: n }, { read, write: idle })!;
    const dig = efficiencyOf(
      link,
      { negotiated: { ...n, headerDigest: true, dataDigest: true } },
      { read, write: idle },
    )!;
    // 12.5e6 × 8192 / (8248 × 1.062154696) = 11,688,628 B/s
    expect(dig.read!.payloadCeilingBytesPerSec).toBe(11688628);
    expect(plain.read!.payloadCeilingBytesPerSec).toBeGreaterThan(dig.read!.payloadCeilingBytesPerSec);
    expect(plain.write).toBeNull();
    expect(efficiencyOf(null, { negotiated: n }, { read, write: idle })).toBeNull();
    expect(efficiencyOf(link, { negotiated: null }, { read, write: idle })).toEqual({
      read: null,
      write: null,
    });
  });
});
