/**
 * The PDU transport of one iSCSI connection, the same for the initiator and the built-in target:
 * it owns the socket, frames what arrives into PDUs (PduFramer, zero copy), sends PDUs in corked
 * bursts (every PDU sent during one tick of the event loop goes out in one writev), counts bytes and
 * PDUs both ways, and carries the fault-injection hooks (hold, drop, corrupt digest, reset).
 *
 * It knows nothing of sessions, sequence numbers or tasks.
 *
 * Handler contract: onPdu for every well-framed PDU; onMalformed (if the owner has one) for a
 * well-framed PDU that cannot be used, else that is an error; onError at most once, then onClose
 * exactly once. Nothing is delivered after onError or after the owner called destroy().
 */
import net from "node:net";
import { pduData } from "../iscsi/encode.js";
import { ProtocolError } from "../iscsi/errors.js";
import { type FrameSink, PduFramer } from "../iscsi/framer.js";
import type { Pdu } from "../iscsi/pdu.js";
import { TransportCounters } from "./counters.js";
import { TransportError } from "./errors.js";
import { HookState, type SendHook } from "./hooks.js";
import { PduEncoder } from "./pdu-encoder.js";

export interface TransportHandler {
  /** `pdu.data` may be a view into the receive buffer, valid only during this call. */
  onPdu(pdu: Pdu): void;
  /**
   * A well-framed PDU that failed to decode or whose data digest is wrong (framing goes on; RFC 7143
   * 7.8, 11.17: a target answers with a Reject). `bhs` is valid only during the call. Without this
   * method such a PDU is a TransportError("malformed") and the transport fails.
   */
  onMalformed?(err: ProtocolError, bhs: Buffer): void;
  /**
   * Direct placement of a Data-In data segment that spans socket reads (see FrameSink.placeData):
   * the Buffer of exactly `dsl` bytes it returns receives the data and is the PDU's `data` in onPdu.
   */
  placeData?(bhs: Buffer, off: number, dsl: number): Buffer | null;
  /**
   * The transport failed: a TransportError (framing, malformed, socket), or the exception an
   * onPdu/onMalformed call threw. Called at most once, before onClose; nothing is delivered after it.
   * When it returns the socket is destroyed, unless the handler called end() (what is queued still
   * goes out) or destroy() itself.
   */
  onError(err: Error): void;
  /** The socket is closed. Called exactly once, after onError if there was one. */
  onClose(): void;
}

export interface TransportOptions {
  /** "host:port" for messages; default the socket's remote address. */
  remote?: string;
  /**
   * Stop reading while the socket's write buffer is above its high-water mark, resume on drain
   * (the target: a slow reader must not make it buffer every response). Default false.
   */
  pauseReadingOnBackpressure?: boolean;
  /**
   * Read through socket 'data' events (default). false: the caller routes reads to receive() itself,
   * as connect() does with a reused read buffer.
   */
  dataEvents?: boolean;
}

/** Before login negotiates it, either side may send data segments of up to 8192 bytes (RFC 7143 13.12). */
export const LOGIN_MAX_DATA_SEGMENT = 8192;

/**
 * Every socket read of a connected transport lands in one reused buffer of this size (net onread)
 * instead of a fresh 64 KiB Buffer per read. Larger reads drain the kernel receive queue in fewer,
 * bigger recv calls, which is also what lets Linux receive-buffer autotuning grow the window: with
 * 64 KiB reads and JS work between them the window stayed at ~0.5 MB and went to zero thousands of
 * times a second under 128 KiB QD32 reads.
 */
const READ_BUFFER_SIZE = 1024 * 1024;

/**
 * A Data-In data segment with at least this much still to come is read from the socket straight
 * into the task's buffer (PduFramer.directReadTarget) instead of into the read buffer and copied
 * out of it. Below it, one read that may also take the next PDUs is cheaper than the copy it saves.
 */
const DIRECT_READ_MIN = 16 * 1024;

const NOOP_HANDLER: TransportHandler = { onPdu() {}, onError() {}, onClose() {} };

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export class PduTransport implements FrameSink {
  handler: TransportHandler = NOOP_HANDLER;
  readonly remote: string;
  readonly counters = new TransportCounters();
  private readonly framer = new PduFramer({
    headerDigest: false,
    dataDigest: false,
    maxDataSegmentLength: LOGIN_MAX_DATA_SEGMENT,
  });
  private readonly encoder = new PduEncoder();
  private hooks: HookState | null = null;
  /** Chunks sent since the last flush, written together by flush() (one write or one writev). */
  private readonly pending: Buffer[] = [];
  private flushScheduled = false;
  /** Inside receive(): what the handlers send is flushed when the read is processed, same turn. */
  private receiving = false;
  /** No more deliveries: failed, or destroyed by the owner. */
  private stopped = false;
  private failed = false;
  private ending = false;
  private closed = false;
  private readPaused = false;
  private readonly pauseOnBackpressure: boolean;
  private readonly flushBound = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly socket: net.Socket,
    options: TransportOptions = {},
  ) {
    this.remote = options.remote ?? hostPort(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    this.pauseOnBackpressure = options.pauseReadingOnBackpressure === true;
    socket.setNoDelay(true);
    if (options.dataEvents !== false) socket.on("data", (chunk: Buffer) => this.receive(chunk));
    if (this.pauseOnBackpressure) socket.on("drain", () => this.resumeReading());
    socket.on("error", (err: NodeJS.ErrnoException) => {
      const code = err.code ?? null;
      this.fail(
        new TransportError(
          "socket",
          `connection to ${this.remote} failed: ${code ?? err.message}`,
          null,
          code,
        ),
      );
    });
    socket.on("close", () => {
      this.closed = true;
      this.stopped = true;
      this.hooks = null;
      this.handler.onClose();
    });
  }

  /**
   * Opens a TCP connection (reads into one reused 1 MiB buffer); rejects with
   * TransportError("socket") on failure or after `timeoutMs`.
   */
  static connect(host: string, port: number, timeoutMs: number): Promise<PduTransport> {
    return new Promise((resolve, reject) => {
      let transport: PduTransport | null = null;
      const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
      const socket = net.connect({
        host,
        port,
        noDelay: true,
        onread: {
          // Asked after every read for the buffer of the next one (net's onread contract).
          buffer: () => (transport === null ? readBuffer : transport.nextReadBuffer(readBuffer)),
          callback: (nread: number, buf: Buffer): boolean => {
            if (transport === null) return true;
            if (buf === transport.directRead) transport.receiveDirect(nread);
            else transport.receive(nread === buf.length ? buf : buf.subarray(0, nread));
            return true;
          },
        },
      });
      const where = hostPort(host, port);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TransportError("socket", `cannot connect to ${where}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        const code = err.code ?? null;
        reject(
          new TransportError("socket", `cannot connect to ${where}: ${code ?? err.message}`, null, code),
        );
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        transport = new PduTransport(socket, { remote: where, dataEvents: false });
        resolve(transport);
      });
    });
  }

  /** Closed, failed or destroyed: send() does nothing any more. */
  get isClosed(): boolean {
    return this.closed || this.stopped || this.socket.destroyed;
  }

  /** Bytes handed to the socket and not yet taken by the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /**
   * Digests and our receive limit after login. RFC 7143 13.1: digests start right after the final
   * login response, so call it right after sending (target) or receiving (initiator) that response:
   * from inside onPdu it applies to the next PDU of the same read.
   */
  setNegotiated(headerDigest: boolean, dataDigest: boolean, maxRecvDataSegmentLength: number): void {
    this.encoder.headerDigest = headerDigest;
    this.encoder.dataDigest = dataDigest;
    this.framer.setOptions({ headerDigest, dataDigest, maxDataSegmentLength: maxRecvDataSegmentLength });
  }

  // ---------------------------------------------------------------- send

  /**
   * Sends `pdu` with `data` as its data segment (default: the PDU's own `data`). The PDU is encoded
   * now (the caller may reuse the object at once); the data segment is written as the caller's
   * Buffer, so it must not change until the socket took it. Everything sent in one tick goes out in
   * one corked burst. Throws ProtocolError for a PDU whose lengths the header cannot carry.
   */
  send(pdu: Pdu, data?: Buffer): void {
    if (this.stopped || this.ending) return;
    const own = pduData(pdu);
    const seg = own === null ? null : data === undefined ? own : data;
    const hooks = this.hooks;
    if (hooks !== null) {
      this.sendHooked(pdu, seg, hooks);
      return;
    }
    const enc = this.encoder;
    const header = enc.header(pdu, seg);
    let bytes = header.length;
    this.write(header);
    if (seg !== null && seg.length > 0) {
      this.write(seg);
      bytes += seg.length;
      const tail = enc.tail(seg, false);
      if (tail !== null) {
        this.write(tail);
        bytes += tail.length;
      }
    }
    const c = this.counters;
    c.pdusSent++;
    c.bytesSent += bytes;
  }

  /**
   * Writes what is queued now instead of at the end of the tick (held PDUs stay held): one socket
   * write for a single chunk, one corked writev for several.
   */
  flush(): void {
    const q = this.pending;
    const n = q.length;
    if (n === 0) return;
    const socket = this.socket;
    if (socket.destroyed) {
      q.length = 0;
      return;
    }
    let ok: boolean;
    if (n === 1) {
      ok = socket.write(q[0]!);
    } else {
      socket.cork();
      ok = true;
      for (let i = 0; i < n; i++) ok = socket.write(q[i]!);
      socket.uncork();
    }
    q.length = 0;
    if (!ok && this.pauseOnBackpressure && !this.readPaused) {
      this.readPaused = true;
      socket.pause();
    }
  }

  /**
   * Queues a chunk for the next flush: at the end of the socket read being processed (a command
   * sent from a completion goes out in the same event-loop turn as the response that freed it), or
   * else at the end of this tick.
   */
  private write(chunk: Buffer): void {
    this.pending.push(chunk);
    if (!this.receiving && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  private resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (!this.stopped) this.socket.resume();
  }

  private sendHooked(pdu: Pdu, seg: Buffer | null, hooks: HookState): void {
    const c = this.counters;
    if (hooks.sendHook !== null) {
      if (!hooks.sendHook(pdu, seg)) {
        c.pdusDropped++;
        return;
      }
      if (this.stopped || this.ending) return;
    }
    const enc = this.encoder;
    const hasData = seg !== null && seg.length > 0;
    let corrupt = false;
    if (hooks.corruptDataDigest && hasData && enc.dataDigest) {
      corrupt = true;
      hooks.corruptDataDigest = false;
      c.digestsCorrupted++;
    }
    const header = enc.header(pdu, seg);
    const tail = hasData ? enc.tail(seg, corrupt) : null;
    const held = hooks.held;
    if (held !== null) {
      held.push(header);
      let bytes = header.length;
      if (hasData) {
        held.push(seg);
        bytes += seg.length;
        if (tail !== null) {
          held.push(tail);
          bytes += tail.length;
        }
      }
      hooks.heldPdus++;
      hooks.heldBytes += bytes;
    } else {
      let bytes = header.length;
      this.write(header);
      if (hasData) {
        this.write(seg);
        bytes += seg.length;
        if (tail !== null) {
          this.write(tail);
          bytes += tail.length;
        }
      }
      c.pdusSent++;
      c.bytesSent += bytes;
    }
    if (hooks.idle) this.hooks = null;
  }

  // ---------------------------------------------------------------- hooks

  private armed(): HookState {
    if (this.hooks === null) this.hooks = new HookState();
    return this.hooks;
  }

  /**
   * Stall: from now on every outgoing PDU is encoded and queued in order, and nothing reaches the
   * socket until release(). A second hold() while holding changes nothing. PDUs are held after the
   * send hook ran (a dropped PDU is not held). Held data segments are the callers' Buffers, kept by
   * reference as a socket write keeps them. end() and destroy() discard what is held.
   */
  hold(): void {
    if (this.isClosed) return;
    const h = this.armed();
    if (h.held === null) h.held = [];
  }

  /** While holding: how many PDUs wait. */
  get heldPdus(): number {
    return this.hooks?.heldPdus ?? 0;
  }

  get holding(): boolean {
    return this.hooks?.held != null;
  }

  /**
   * Ends a hold: the held PDUs go out in the order they were sent, in one corked burst with
   * whatever else is sent in this tick, and later sends go out directly again. Returns how many
   * PDUs were released (0 when not holding).
   */
  release(): number {
    const h = this.hooks;
    if (h === null || h.held === null) return 0;
    const held = h.held;
    const n = h.heldPdus;
    const bytes = h.heldBytes;
    h.held = null;
    h.heldPdus = 0;
    h.heldBytes = 0;
    if (h.idle) this.hooks = null;
    if (this.isClosed || this.ending) return 0;
    for (let i = 0; i < held.length; i++) this.write(held[i]!);
    this.counters.pdusSent += n;
    this.counters.bytesSent += bytes;
    return n;
  }

  /**
   * Installs (or with null removes) the per-PDU send hook; see SendHook for its contract. One hook
   * at a time: a second call replaces the first.
   */
  setSendHook(hook: SendHook | null): void {
    if (hook === null) {
      if (this.hooks === null) return;
      this.hooks.sendHook = null;
      if (this.hooks.idle) this.hooks = null;
      return;
    }
    this.armed().sendHook = hook;
  }

  /**
   * Arms a wrong data digest for the next outgoing PDU that has a non-empty data segment while data
   * digests are on (PDUs without data, or sent before digests are negotiated, leave it armed). The
   * peer's framer sees a data digest mismatch: a well-framed, malformed PDU (RFC 7143 7.8). Counted
   * in counters.digestsCorrupted when it fires. A dropped PDU does not consume it.
   */
  corruptNextDataDigest(): void {
    if (this.isClosed) return;
    this.armed().corruptDataDigest = true;
  }

  /** Whether corruptNextDataDigest is armed and has not fired yet. */
  get corruptArmed(): boolean {
    return this.hooks?.corruptDataDigest === true;
  }

  // ---------------------------------------------------------------- receive

  /**
   * Feeds received bytes to the framer. The transport's own socket reader calls it; it is public for
   * a socket whose reads arrive elsewhere (see TransportOptions.dataEvents).
   */
  receive(chunk: Buffer): void {
    if (this.stopped) return;
    this.counters.bytesReceived += chunk.length;
    this.feed(chunk, 0);
  }

  /** Runs the framer over one read (`chunk`, or `direct` bytes of a direct read); flushes after it. */
  private feed(chunk: Buffer | null, direct: number): void {
    this.receiving = true;
    try {
      if (chunk !== null) this.framer.push(chunk, this);
      else this.framer.pushDirect(direct, this);
    } catch (err) {
      this.receiving = false;
      if (err instanceof ProtocolError)
        this.fail(new TransportError("framing", `framing error from ${this.remote}: ${err.message}`, err));
      else this.fail(err as Error);
    }
    this.receiving = false;
    this.flush();
  }

  /** The buffer handed out for the socket read in progress when it is a direct read, else null. */
  directRead: Buffer | null = null;

  /**
   * For a socket reader that can choose each read's buffer (connect's onread): the rest of a
   * Data-In data segment being placed (see DIRECT_READ_MIN), else `readBuffer`.
   */
  nextReadBuffer(readBuffer: Buffer): Buffer {
    if (this.stopped) return readBuffer;
    const direct = this.framer.directReadTarget(DIRECT_READ_MIN);
    this.directRead = direct;
    if (direct !== null) return direct;
    // During a large read, the next header alone: its data can then be read straight into place.
    const limit = this.framer.nextReadLimit(DIRECT_READ_MIN);
    if (limit === 0) return readBuffer;
    let h = this.headerRead;
    if (h === null || h.length !== limit || h.buffer !== readBuffer.buffer)
      h = this.headerRead = readBuffer.subarray(0, limit);
    return h;
  }

  /** The start of the read buffer, as long as one header: the buffer of a header-first read. */
  private headerRead: Buffer | null = null;

  /** `n` bytes arrived in the buffer nextReadBuffer returned as a direct read. */
  receiveDirect(n: number): void {
    this.directRead = null;
    if (this.stopped) return;
    this.counters.bytesReceived += n;
    this.counters.bytesReceivedDirect += n;
    this.feed(null, n);
  }

  /** FrameSink: for the framer only. */
  onPdu(pdu: Pdu): void {
    if (this.stopped) return;
    this.counters.pdusReceived++;
    this.handler.onPdu(pdu);
  }

  /** FrameSink: for the framer only. */
  placeData(bhs: Buffer, off: number, dsl: number): Buffer | null {
    if (this.stopped) return null;
    const h = this.handler;
    return h.placeData === undefined ? null : h.placeData(bhs, off, dsl);
  }

  /** FrameSink: for the framer only. */
  onMalformed(err: ProtocolError, bhs: Buffer): void {
    if (this.stopped) return;
    this.counters.pdusReceived++;
    const h = this.handler;
    if (h.onMalformed !== undefined) h.onMalformed(err, bhs);
    else this.fail(new TransportError("malformed", `malformed PDU from ${this.remote}: ${err.message}`, err));
  }

  // ---------------------------------------------------------------- close

  /**
   * Ends the connection gracefully: what is queued goes out (held PDUs are discarded), then FIN.
   * Nothing more is sent; PDUs the peer still sends are delivered. With `graceMs` > 0 the socket is
   * destroyed after that long if the peer has not closed its side by then.
   */
  end(graceMs = 0): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    if (this.hooks !== null) this.hooks.held = null;
    this.hooks = null;
    this.flush();
    if (this.socket.destroyed) return;
    this.socket.end();
    if (graceMs > 0) setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  /** Drops the connection now (FIN, nothing queued or held goes out); nothing is delivered after it. */
  destroy(): void {
    this.stopped = true;
    this.hooks = null;
    this.pending.length = 0;
    this.socket.destroy();
  }

  /** Drops the connection now with a TCP RST instead of a FIN (a crashed or unplugged peer). */
  reset(): void {
    this.stopped = true;
    this.hooks = null;
    this.pending.length = 0;
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  private fail(err: Error): void {
    if (this.failed || this.stopped || this.closed) return;
    this.failed = true;
    this.stopped = true;
    this.hooks = null;
    this.handler.onError(err);
    // the handler may have chosen a graceful end (what it answered still goes out)
    if (!this.ending) this.destroy();
  }
}
