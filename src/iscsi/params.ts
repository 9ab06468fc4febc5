/**
 * Operational parameters of a session/connection after negotiation (RFC 7143 section 13).
 * Both the initiator and the target hold one of these; negotiate.ts fills it in.
 */
export interface OperationalParams {
  headerDigest: boolean; // HeaderDigest=CRC32C negotiated
  dataDigest: boolean; // DataDigest=CRC32C negotiated
  /** The most data this side accepts in one PDU (what this side declared). */
  maxRecvDataSegmentLength: number;
  /** The most data the peer accepts in one PDU (what the peer declared): bounds what we send. */
  peerMaxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  errorRecoveryLevel: number;
  maxConnections: number;
}

/** RFC 7143 defaults (section 13), used until negotiation says otherwise. */
export const DEFAULT_PARAMS: Readonly<OperationalParams> = Object.freeze({
  headerDigest: false,
  dataDigest: false,
  maxRecvDataSegmentLength: 8192,
  peerMaxRecvDataSegmentLength: 8192,
  maxBurstLength: 262144,
  firstBurstLength: 65536,
  initialR2T: true,
  immediateData: true,
  maxOutstandingR2T: 1,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  errorRecoveryLevel: 0,
  maxConnections: 1,
});
