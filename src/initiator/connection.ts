/**
 * One TCP connection to a target: the socket, the PDU framer on the receive side, and batched
 * writes on the send side (every PDU sent during one tick of the event loop goes out in one corked
 * burst, so a queue refill or an R2T answer costs one writev, not one syscall per PDU).
 *
 * The connection knows nothing of sessions: it hands every decoded PDU to its handler.
 */
import net from "node:net";
import { encodePdu } from "../iscsi/encode.js";
import { ProtocolError } from "../iscsi/errors.js";
import { PduFramer } from "../iscsi/framer.js";
import type { DigestOptions, Pdu } from "../iscsi/pdu.js";
import { SessionError } from "./errors.js";

export interface ConnectionHandler {
  /** `pdu.data` may be a view valid only during this call. */
  onPdu(pdu: Pdu): void;
  /** The connection failed (socket error, framing error, malformed PDU). Called at most once, before onClose. */
  onError(err: Error): void;
  /** The socket is closed (after onError if there was an error). Called once. */
  onClose(): void;
}

/** Before login negotiates it, either side may send data segments of up to 8192 bytes (RFC 7143 13.12). */
export const LOGIN_MAX_DATA_SEGMENT = 8192;

/**
 * Every socket read lands in one reused buffer of this size (net onread) instead of a fresh 64 KiB
 * Buffer per read. Larger reads drain the kernel receive queue in fewer, bigger recv calls, which is
 * also what lets Linux receive-buffer autotuning grow the window: with 64 KiB reads and JS work
 * between them the window stayed at ~0.5 MB and went to zero thousands of times a second under
 * 128 KiB QD32 reads.
 */
const READ_BUFFER_SIZE = 1024 * 1024;

const NOOP_HANDLER: ConnectionHandler = { onPdu() {}, onError() {}, onClose() {} };

export class Connection {
  handler: ConnectionHandler = NOOP_HANDLER;
  readonly remote: string;
  private readonly framer: PduFramer;
  private readonly digests: DigestOptions = { headerDigest: false, dataDigest: false };
  private out: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;
  private failed = false;
  private readonly flushBound = (): void => this.flush();
  /** Receive callback for the socket's reused read buffer (see open()). */
  private onRead: (nread: number, buf: Buffer) => boolean = () => true;

  private constructor(
    private readonly socket: net.Socket,
    host: string,
    port: number,
  ) {
    this.remote = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.framer = new PduFramer({
      headerDigest: false,
      dataDigest: false,
      maxDataSegmentLength: LOGIN_MAX_DATA_SEGMENT,
    });
    const sink = {
      onPdu: (pdu: Pdu) => this.handler.onPdu(pdu),
      onMalformed: (err: ProtocolError) =>
        this.fail(new SessionError(`malformed PDU from the target: ${err.message}`)),
    };
    this.onRead = (nread: number, buf: Buffer): boolean => {
      if (this.closed) return true;
      try {
        this.framer.push(nread === buf.length ? buf : buf.subarray(0, nread), sink);
      } catch (err) {
        if (err instanceof ProtocolError)
          this.fail(new SessionError(`protocol error from the target: ${err.message}`));
        else this.fail(err as Error);
      }
      return true;
    };
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.fail(new SessionError(`connection to ${this.remote} failed: ${err.code ?? err.message}`));
    });
    socket.on("close", () => {
      this.closed = true;
      this.handler.onClose();
    });
  }

  /** Opens a TCP connection; rejects with SessionError on failure or after `timeoutMs`. */
  static open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let conn: Connection | null = null;
      const socket = net.connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
          callback: (nread: number, buf: Buffer) => (conn === null ? true : conn.onRead(nread, buf)),
        },
      });
      const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SessionError(`cannot connect to ${where}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        reject(new SessionError(`cannot connect to ${where}: ${err.code ?? err.message}`));
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        conn = new Connection(socket, host, port);
        resolve(conn);
      });
    });
  }

  get isClosed(): boolean {
    return this.closed || this.failed;
  }

  /** Digests and receive limit after login (RFC 7143 13.1: digests start right after the final login response). */
  setNegotiated(headerDigest: boolean, dataDigest: boolean, maxRecvDataSegmentLength: number): void {
    this.digests.headerDigest = headerDigest;
    this.digests.dataDigest = dataDigest;
    this.framer.setOptions({ headerDigest, dataDigest, maxDataSegmentLength: maxRecvDataSegmentLength });
  }

  /** Queues a PDU; everything queued in this tick is written in one corked burst. */
  send(pdu: Pdu): void {
    if (this.closed || this.failed) return;
    const chunks = encodePdu(pdu, this.digests);
    for (let i = 0; i < chunks.length; i++) this.out.push(chunks[i]!);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.closed || this.failed) return;
    this.out = [];
    const socket = this.socket;
    socket.cork();
    for (let i = 0; i < out.length; i++) socket.write(out[i]!);
    socket.uncork();
  }

  /** Ends the connection gracefully after the queued writes. */
  end(): void {
    this.flush();
    this.socket.end();
  }

  /** Drops the connection now. */
  destroy(): void {
    this.out = [];
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.out = [];
    this.handler.onError(err);
    this.socket.destroy();
  }
}
