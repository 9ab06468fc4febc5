/**
 * What a byte of TCP payload costs on a real Ethernet link, and the most iSCSI payload such a link
 * can carry. The link emulator charges its token bucket with these figures, and the report uses the
 * ceiling for "link efficiency".
 *
 * One full frame of a TCP/IPv4 stream over Ethernet, in bytes on the wire:
 *
 *   outside the MTU   preamble + SFD 8, Ethernet header 14, FCS 4, inter-frame gap 12   = 38
 *   inside the MTU    IPv4 header 20, TCP header 20, TCP timestamps option 12 (Linux)  = 52
 *   payload           MSS = MTU - 52 (1448 at MTU 1500, 8948 at MTU 9000)
 *
 * so a full frame spends MTU + 38 wire bytes on MTU - 52 payload bytes (1538 on 1448 at MTU 1500).
 * The smallest IP packet here (52 bytes) is above Ethernet's 46-byte minimum, so no frame is padded.
 *
 * Not counted: the ACKs of a direction travel in the other direction of the full-duplex link and
 * are charged to neither (about one 90-byte frame per two segments, ~3 % of the reverse direction
 * while it is otherwise idle); VLAN tags, SACK or other TCP options, IP options, retransmissions,
 * PAUSE frames and the TCP/iSCSI login traffic's own framing beyond its bytes.
 */

/** Preamble (7) + start frame delimiter (1). */
export const PREAMBLE_SFD_BYTES = 8;
/** Destination MAC 6, source MAC 6, EtherType 2 (no VLAN tag). */
export const ETHERNET_HEADER_BYTES = 14;
/** Frame check sequence (CRC-32). */
export const FCS_BYTES = 4;
/** The minimum inter-frame gap: 96 bit times. */
export const INTER_FRAME_GAP_BYTES = 12;
/** Wire bytes of a frame outside its MTU-sized IP packet: 8 + 14 + 4 + 12. */
export const FRAME_OVERHEAD_BYTES =
  PREAMBLE_SFD_BYTES + ETHERNET_HEADER_BYTES + FCS_BYTES + INTER_FRAME_GAP_BYTES;

export const IPV4_HEADER_BYTES = 20;
export const TCP_HEADER_BYTES = 20;
/** The timestamps option (10 bytes, padded to 12), on by default on Linux. */
export const TCP_TIMESTAMPS_BYTES = 12;
/** Bytes of each IP packet that are not TCP payload: 20 + 20 + 12. */
export const PACKET_OVERHEAD_BYTES = IPV4_HEADER_BYTES + TCP_HEADER_BYTES + TCP_TIMESTAMPS_BYTES;

/** Wire bytes per frame beyond its payload: 38 + 52 = 90. */
export const PER_FRAME_WIRE_OVERHEAD = FRAME_OVERHEAD_BYTES + PACKET_OVERHEAD_BYTES;

export const DEFAULT_MTU = 1500;
export const MIN_MTU = 576;
export const MAX_MTU = 9216;

/** The iSCSI basic header segment. */
const BHS_BYTES = 48;
const DIGEST_BYTES = 4;

/** TCP payload per full frame: MTU - 52. */
export function mssFor(mtu = DEFAULT_MTU): number {
  return mtu - PACKET_OVERHEAD_BYTES;
}

/** Wire bytes per payload byte of a bulk stream: (MTU + 38) / (MTU - 52), 1538/1448 ≈ 1.0622 at 1500. */
export function wireFactor(mtu = DEFAULT_MTU): number {
  return (mtu + FRAME_OVERHEAD_BYTES) / mssFor(mtu);
}

/**
 * Wire bytes a bulk stream spends on `payloadBytes`, charged byte by byte as if every frame were full
 * (fractional frames). Right for throughput ceilings; see wireBytesForChunk for what the relay charges.
 */
export function wireBytesFor(payloadBytes: number, mtu = DEFAULT_MTU): number {
  return payloadBytes * wireFactor(mtu);
}

/** Frames needed to carry `payloadBytes` sent together: ceil(payload / MSS), at least 1. */
export function framesFor(payloadBytes: number, mtu = DEFAULT_MTU): number {
  return Math.max(1, Math.ceil(payloadBytes / mssFor(mtu)));
}

/**
 * Wire bytes of a chunk the relay read in one go: the payload plus 90 bytes per frame it needs
 * (whole frames). A lone 48-byte iSCSI header costs a 138-byte frame on a real link, which the
 * fractional stream formula would charge as 51; for 64 KiB reads the two differ by < 0.2 %.
 */
export function wireBytesForChunk(payloadBytes: number, mtu = DEFAULT_MTU): number {
  return payloadBytes + framesFor(payloadBytes, mtu) * PER_FRAME_WIRE_OVERHEAD;
}

/** The most TCP payload per second a link of `bitsPerSec` carries: line rate / wireFactor. */
export function tcpPayloadCeilingBytesPerSec(bitsPerSec: number, mtu = DEFAULT_MTU): number {
  return bitsPerSec / 8 / wireFactor(mtu);
}

export interface CeilingParams {
  bitsPerSec: number;
  mtu?: number;
  /** The negotiated MaxRecvDataSegmentLength of the receiving side: the data bytes per PDU. */
  maxRecvDataSegmentLength: number;
  headerDigest?: boolean;
  dataDigest?: boolean;
}

/** The stream bytes of one full data PDU: 48 + header digest + L + pad to 4 + data digest. */
export function pduStreamBytes(p: Omit<CeilingParams, "bitsPerSec" | "mtu">): number {
  const l = p.maxRecvDataSegmentLength;
  const pad = (4 - (l % 4)) % 4;
  return BHS_BYTES + (p.headerDigest ? DIGEST_BYTES : 0) + l + pad + (p.dataDigest ? DIGEST_BYTES : 0);
}

/**
 * The most iSCSI data payload per second one direction of the link carries, when every PDU is a
 * full Data-In/Data-Out PDU of L = MaxRecvDataSegmentLength bytes:
 *   bitsPerSec / 8 × L / ((48 + hd·4 + L + pad + dd·4) × (MTU + 38) / (MTU − 52)).
 * 100 Mbit/s, L = 8192, MTU 1500, no digests: 12.5e6 × 8192 / (8240 × 1538/1448) ≈ 11.70e6 B/s.
 * Command, R2T and response PDUs (which a real operation also needs) are not counted, so this is a
 * ceiling an operation can approach but not exceed.
 */
export function payloadCeilingBytesPerSec(p: CeilingParams): number {
  if (!(p.bitsPerSec > 0)) throw new RangeError("payloadCeilingBytesPerSec: bitsPerSec must be > 0");
  if (!(p.maxRecvDataSegmentLength > 0)) {
    throw new RangeError("payloadCeilingBytesPerSec: maxRecvDataSegmentLength must be > 0");
  }
  const l = p.maxRecvDataSegmentLength;
  return ((p.bitsPerSec / 8) * l) / wireBytesFor(pduStreamBytes(p), p.mtu ?? DEFAULT_MTU);
}

export interface LinkRate {
  bitsPerSec: number;
  mtu?: number;
}

export interface EfficiencyParams {
  maxRecvDataSegmentLength: number;
  headerDigest?: boolean;
  dataDigest?: boolean;
}

export interface LinkEfficiency {
  /** Payload bits per second as a percentage of the line rate. */
  ofLineRatePct: number;
  /** Payload as a percentage of payloadCeilingBytesPerSec. */
  ofPayloadCeilingPct: number;
  payloadCeilingBytesPerSec: number;
}

/** How much of the link an operation's payload throughput (`bytesPerSec`) used. Needs a rate > 0. */
export function efficiency(bytesPerSec: number, link: LinkRate, params: EfficiencyParams): LinkEfficiency {
  const ceiling = payloadCeilingBytesPerSec({ ...params, bitsPerSec: link.bitsPerSec, mtu: link.mtu });
  return {
    ofLineRatePct: ((bytesPerSec * 8) / link.bitsPerSec) * 100,
    ofPayloadCeilingPct: (bytesPerSec / ceiling) * 100,
    payloadCeilingBytesPerSec: ceiling,
  };
}
