/**
 * One TCP connection to a target: the initiator's face of the shared PDU transport
 * (src/transport/pdu-transport.ts: socket, framer, corked writes, counters, fault hooks). It turns
 * the transport's errors into SessionErrors with the initiator's messages.
 *
 * The connection knows nothing of sessions: it hands every decoded PDU to its handler.
 */
import type { Pdu } from "../iscsi/pdu.js";
import { TransportError } from "../transport/errors.js";
import { PduTransport, type TransportHandler } from "../transport/pdu-transport.js";
import { SessionError } from "./errors.js";

export { LOGIN_MAX_DATA_SEGMENT } from "../transport/pdu-transport.js";

export interface ConnectionHandler {
  /** `pdu.data` may be a view valid only during this call. */
  onPdu(pdu: Pdu): void;
  /** Optional direct placement of a Data-In data segment (TransportHandler.placeData). */
  placeData?(bhs: Buffer, off: number, dsl: number): Buffer | null;
  /** The connection failed (socket error, framing error, malformed PDU). Called at most once, before onClose. */
  onError(err: Error): void;
  /** The socket is closed (after onError if there was an error). Called once. */
  onClose(): void;
}

const NOOP_HANDLER: ConnectionHandler = { onPdu() {}, onError() {}, onClose() {} };

/** The initiator's wording for a transport failure (the target is the peer). */
function sessionError(err: Error): Error {
  if (!(err instanceof TransportError)) return err;
  if (err.kind === "malformed")
    return new SessionError(`malformed PDU from the target: ${err.protocol!.message}`);
  if (err.kind === "framing")
    return new SessionError(`protocol error from the target: ${err.protocol!.message}`);
  return new SessionError(err.message);
}

export class Connection implements TransportHandler {
  handler: ConnectionHandler = NOOP_HANDLER;
  readonly remote: string;

  private constructor(private readonly t: PduTransport) {
    this.remote = t.remote;
    t.handler = this;
  }

  /** Opens a TCP connection; rejects with SessionError on failure or after `timeoutMs`. */
  static async open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    try {
      return new Connection(await PduTransport.connect(host, port, timeoutMs));
    } catch (err) {
      throw sessionError(err as Error);
    }
  }

  /** The transport underneath: counters, fault hooks (hold, drop, corrupt digest, reset). */
  get transport(): PduTransport {
    return this.t;
  }

  get isClosed(): boolean {
    return this.t.isClosed;
  }

  /** Digests and receive limit after login (RFC 7143 13.1: digests start right after the final login response). */
  setNegotiated(headerDigest: boolean, dataDigest: boolean, maxRecvDataSegmentLength: number): void {
    this.t.setNegotiated(headerDigest, dataDigest, maxRecvDataSegmentLength);
  }

  /** Queues a PDU; everything queued in this tick is written in one corked burst. */
  send(pdu: Pdu): void {
    this.t.send(pdu);
  }

  /** Writes what is queued now. */
  flush(): void {
    this.t.flush();
  }

  /** Ends the connection gracefully after the queued writes. */
  end(): void {
    this.t.end();
  }

  /** Drops the connection now. */
  destroy(): void {
    this.t.destroy();
  }

  /** TransportHandler: for the transport only. */
  onPdu(pdu: Pdu): void {
    this.handler.onPdu(pdu);
  }

  /** TransportHandler: for the transport only. */
  placeData(bhs: Buffer, off: number, dsl: number): Buffer | null {
    const h = this.handler;
    return h.placeData === undefined ? null : h.placeData(bhs, off, dsl);
  }

  /** TransportHandler: for the transport only. */
  onError(err: Error): void {
    this.handler.onError(sessionError(err));
  }

  /** TransportHandler: for the transport only. */
  onClose(): void {
    this.handler.onClose();
  }
}
