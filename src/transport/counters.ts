/**
 * What one PDU transport has moved, in plain numeric fields: the hot path adds to them and never
 * allocates. Sent figures count what was handed to the socket (a held PDU counts when it is
 * released, a dropped one never); received figures count every byte the socket delivered and every
 * PDU the framer cut out of them (a malformed one included).
 */
export class TransportCounters {
  /** Bytes handed to the socket: headers, AHS, digests, data segments and padding. */
  bytesSent = 0;
  /** PDUs handed to the socket. */
  pdusSent = 0;
  /** Bytes read from the socket. */
  bytesReceived = 0;
  /** Of bytesReceived, those read straight into a destination buffer (direct reads of Data-In data). */
  bytesReceivedDirect = 0;
  /** Whole PDUs framed from the received bytes, well formed or not. */
  pdusReceived = 0;
  /** Outgoing PDUs a send hook dropped (see PduTransport.setSendHook). */
  pdusDropped = 0;
  /** Outgoing PDUs sent with a deliberately wrong data digest (see PduTransport.corruptNextDataDigest). */
  digestsCorrupted = 0;

  /** A copy, for a report or a test (allocates; not for the hot path). */
  snapshot(): TransportCounters {
    const c = new TransportCounters();
    c.bytesSent = this.bytesSent;
    c.pdusSent = this.pdusSent;
    c.bytesReceived = this.bytesReceived;
    c.bytesReceivedDirect = this.bytesReceivedDirect;
    c.pdusReceived = this.pdusReceived;
    c.pdusDropped = this.pdusDropped;
    c.digestsCorrupted = this.digestsCorrupted;
    return c;
  }
}
