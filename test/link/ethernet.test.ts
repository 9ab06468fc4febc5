/**
 * The link's per-frame accounting and the iSCSI payload ceiling against figures computed by hand.
 */
import { describe, expect, it } from "vitest";
import {
  efficiency,
  FRAME_OVERHEAD_BYTES,
  framesFor,
  mssFor,
  PACKET_OVERHEAD_BYTES,
  PER_FRAME_WIRE_OVERHEAD,
  payloadCeilingBytesPerSec,
  pduStreamBytes,
  tcpPayloadCeilingBytesPerSec,
  wireBytesFor,
  wireBytesForChunk,
  wireFactor,
} from "../../src/link/ethernet.js";

describe("per-frame accounting", () => {
  it("adds up a full frame at MTU 1500 and 9000", () => {
    // Outside the MTU: preamble+SFD 8 + header 14 + FCS 4 + IFG 12 = 38.
    expect(FRAME_OVERHEAD_BYTES).toBe(38);
    // Inside: IPv4 20 + TCP 20 + timestamps 12 = 52; per frame 38 + 52 = 90.
    expect(PACKET_OVERHEAD_BYTES).toBe(52);
    expect(PER_FRAME_WIRE_OVERHEAD).toBe(90);
    // MSS 1500 - 52 = 1448; a full frame: 1448 + 90 = 1538 = 1500 + 38.
    expect(mssFor(1500)).toBe(1448);
    expect(wireBytesFor(1448, 1500)).toBeCloseTo(1538, 9);
    expect(wireFactor()).toBeCloseTo(1538 / 1448, 12);
    // MTU 9000: MSS 8948, frame 9038.
    expect(mssFor(9000)).toBe(8948);
    expect(wireBytesFor(8948 * 10, 9000)).toBeCloseTo(90380, 6);
  });

  it("charges a stream fractionally: 1 MB at MTU 1500 is 1e6 × 1538 / 1448 wire bytes", () => {
    // 1e6 × 1538 / 1448 = 1 062 154.696...
    expect(wireBytesFor(1_000_000)).toBeCloseTo(1_062_154.696, 2);
  });

  it("charges a chunk whole frames", () => {
    // A lone 48-byte header: one frame, 48 + 90 = 138 bytes on the wire.
    expect(wireBytesForChunk(48)).toBe(138);
    expect(wireBytesForChunk(1448)).toBe(1538);
    // 1449 bytes need 2 frames: 1449 + 180.
    expect(wireBytesForChunk(1449)).toBe(1629);
    // 64 KiB: 45 × 1448 = 65160 < 65536 ≤ 46 × 1448, so 46 frames: 65536 + 46 × 90 = 69676.
    expect(framesFor(65536)).toBe(46);
    expect(wireBytesForChunk(65536)).toBe(69676);
    // MTU 9000: 8 frames of 8948 (71584) cover 64 KiB: 65536 + 720.
    expect(wireBytesForChunk(65536, 9000)).toBe(66256);
  });

  it("gives the TCP payload ceiling of a line rate", () => {
    // 1 Gbit/s: 125e6 × 1448 / 1538 = 117 685 305.6 B/s.
    expect(tcpPayloadCeilingBytesPerSec(1e9)).toBeCloseTo(117_685_305.6, 0);
  });
});

describe("iSCSI payload ceiling", () => {
  it("adds up a PDU: 48 + digests + data + pad", () => {
    expect(pduStreamBytes({ maxRecvDataSegmentLength: 8192 })).toBe(8240);
    expect(pduStreamBytes({ maxRecvDataSegmentLength: 8192, headerDigest: true, dataDigest: true })).toBe(
      8248,
    );
    // 8191 is padded to 8192.
    expect(pduStreamBytes({ maxRecvDataSegmentLength: 8191 })).toBe(8240);
  });

  it("matches the hand-computed figures at 100 Mbit/s and 1 Gbit/s", () => {
    // 12.5e6 × 8192 / (8240 × 1538/1448) = 12.5e6 × 11 862 016 / 12 673 120 = 11 699 976.0 B/s.
    const p = { maxRecvDataSegmentLength: 8192 };
    expect(payloadCeilingBytesPerSec({ bitsPerSec: 100e6, ...p })).toBeCloseTo(11_699_976.01, 1);
    // Ten times the rate, ten times the ceiling: 116 999 760.1 B/s (the "117.0 MB/s").
    expect(payloadCeilingBytesPerSec({ bitsPerSec: 1e9, mtu: 1500, ...p })).toBeCloseTo(116_999_760.12, 1);
    // Both digests: 8248 stream bytes per PDU: 12.5e6 × 8192 × 1448 / (8248 × 1538) = 11 688 627.8.
    expect(
      payloadCeilingBytesPerSec({ bitsPerSec: 100e6, ...p, headerDigest: true, dataDigest: true }),
    ).toBeCloseTo(11_688_627.83, 1);
    // MTU 9000 at 1 Gbit/s: 125e6 × 8192 × 8948 / (8240 × 9038) = 123 034 351.2.
    expect(payloadCeilingBytesPerSec({ bitsPerSec: 1e9, mtu: 9000, ...p })).toBeCloseTo(123_034_351.19, 1);
  });

  it("rejects a missing rate or segment length", () => {
    expect(() => payloadCeilingBytesPerSec({ bitsPerSec: 0, maxRecvDataSegmentLength: 8192 })).toThrow(
      RangeError,
    );
    expect(() => payloadCeilingBytesPerSec({ bitsPerSec: 1e9, maxRecvDataSegmentLength: 0 })).toThrow(
      RangeError,
    );
  });

  it("gives the efficiency of an operation", () => {
    // 10 MB/s on 100 Mbit/s: 80 Mbit/s = 80 % of the line, 10e6 / 11 699 976.0 = 85.470 % of the ceiling.
    const e = efficiency(10e6, { bitsPerSec: 100e6 }, { maxRecvDataSegmentLength: 8192 });
    expect(e.ofLineRatePct).toBeCloseTo(80, 9);
    expect(e.ofPayloadCeilingPct).toBeCloseTo(85.47026, 4);
    expect(e.payloadCeilingBytesPerSec).toBeCloseTo(11_699_976.01, 1);
  });
});
