/**
 * The link emulator's TCP relay (node:net, loopback): it listens on host:port and, for each client,
 * opens one connection to the upstream `to` address. Each direction of the emulated link has a
 * token bucket of wire bytes shared by all connections (one link, however many sessions cross it),
 * a bounded queue, and a one-way delay:
 *
 *   chunk read ─► charge wireBytesForChunk() to the bucket: departure = when its last byte has left
 *             ─► delivery time = departure + delay, appended to the connection's timestamped FIFO
 *             ─► written to the other socket when due, honouring that socket's backpressure
 *
 * The queue is the bucket's debt (bytes charged but not yet sent): once it exceeds the queue bound
 * the reading socket is paused, and resumed when a quarter of it has drained, like a switch port that
 * holds a few milliseconds of traffic and pushes back (lossless, PAUSE-frame style) rather than
 * buffering without end. The bound can be exceeded by at most one chunk per connection (the chunk
 * that found the queue full). Bytes on the wire (departed, not yet delivered) are bounded by
 * rate × delay; bytes the destination cannot take yet pause the source, as pipe() would.
 *
 * Hot path: one bound `data` handler and one bound timer callback per direction and connection,
 * created with the connection (no closure, promise or timer per chunk); one delivery timer at a
 * time per direction, armed for the FIFO's head only (the FIFO is in delivery-time order). With no
 * rate and no delay a chunk is written straight through, so the relay is close to a plain pipe.
 * Closing: an end (FIN) travels behind the data and ends the other side; an error on either side
 * resets the other.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { DEFAULT_MTU, wireBytesForChunk, wireFactor } from "./ethernet.js";
import type { LinkSpec } from "./spec.js";
import { type Clock, defaultBurstBytes, monotonicClock, TokenBucket } from "./token-bucket.js";

export interface RelayOptions {
  listenHost: string;
  /** 0: any free port. */
  listenPort: number;
  to: { host: string; port: number };
  spec: LinkSpec;
  clock?: Clock;
}

export interface DirectionStats {
  /** Payload bytes carried (read from the source). */
  bytes: number;
  chunks: number;
  /** Wire bytes charged to the bucket (0 without a rate). */
  wireBytes: number;
  /** Payload bytes queued now (charged, not yet departed; estimated from the bucket's debt). */
  queuedBytes: number;
  maxQueuedBytes: number;
  /** Payload bytes the relay holds now in this direction (queued, on the wire, or blocked). */
  bufferedBytes: number;
  /** The most one connection held at once in this direction. */
  maxBufferedBytes: number;
  /** Times a source was paused because the queue was full. */
  queuePauses: number;
}

export interface ThreadCpu {
  userMs: number;
  systemMs: number;
}

export interface RelayStats {
  connections: { accepted: number; active: number; failed: number };
  /** Client → upstream (initiator → target). */
  up: DirectionStats;
  /** Upstream → client. */
  down: DirectionStats;
  queueBytes: number;
  /** CPU time of the thread the relay runs on (Linux /proc/thread-self), else null. */
  cpu: ThreadCpu | null;
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  readonly queueBytes: number;
  stats(): RelayStats;
  /** Stops listening and resets every open connection. */
  close(): Promise<void>;
}

/** Default queue per direction: 256 KiB, or 5 ms of the link's payload if more (keeps 10 Gbit busy). */
export const DEFAULT_QUEUE_BYTES = 256 * 1024;
const DEFAULT_QUEUE_MS = 5;

export function defaultQueueBytes(spec: Pick<LinkSpec, "bitsPerSec" | "mtu">): number {
  const fiveMs = ((spec.bitsPerSec / 8) * DEFAULT_QUEUE_MS) / 1000 / wireFactor(spec.mtu);
  return Math.max(DEFAULT_QUEUE_BYTES, Math.ceil(fiveMs));
}

/**
 * A due chunk is delivered up to this early. Delivery times are fixed when a chunk is charged, so
 * this never changes the long-run rate.
 */
const TIMER_SLACK_MS = 0.05;

/**
 * Node's timers have millisecond granularity and fire late, so a wait shorter than a timer's
 * granularity (a 4 KiB read on a 100 Mbit/s link serialises in 0.35 ms) is slept precisely instead:
 * Atomics.wait on a private cell, a futex sleep that costs no CPU. This thread does nothing but
 * relay, so a short sleep only delays its other sockets by as much; the sleeping per event-loop
 * turn is bounded by SLEEP_BUDGET_MS, after which the pipe yields one turn (setImmediate) and goes
 * on. Measured with QD1 4 KiB reads over an emulated 100 Mbit/s link: timers alone carried 66 % of
 * the payload ceiling.
 */
const PRECISE_WAIT_MS = 1;
const SLEEP_BUDGET_MS = 0.5;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

const PAUSE_BLOCKED = 1;
const PAUSE_QUEUE = 2;
const PAUSE_CONNECTING = 4;

/** The FIFO's end-of-stream marker (a FIN travelling behind the data). */
const END = Buffer.alloc(0);

function emptyStats(): DirectionStats {
  return {
    bytes: 0,
    chunks: 0,
    wireBytes: 0,
    queuedBytes: 0,
    maxQueuedBytes: 0,
    bufferedBytes: 0,
    maxBufferedBytes: 0,
    queuePauses: 0,
  };
}

/** One direction of the emulated link, shared by every connection's pipe in that direction. */
class LinkDirection {
  readonly bucket: TokenBucket | null;
  readonly delayMs: number;
  readonly mtu: number;
  readonly clock: Clock;
  /** Real time: short waits may be slept (a fake clock in tests never advances while asleep). */
  readonly precise: boolean;
  readonly stats = emptyStats();
  readonly pipes = new Set<Pipe>();
  /** Debt (wire bytes) above which sources pause, and at or below which they resume. */
  private readonly pauseWire: number;
  private readonly resumeWire: number;
  private readonly payloadPerWire: number;
  private readonly paused = new Set<Pipe>();
  private resumeTimer: NodeJS.Timeout | null = null;
  private readonly onResumeTimer = (): void => this.resumeDrained();

  constructor(spec: LinkSpec, queueBytes: number, clock: Clock) {
    this.mtu = spec.mtu || DEFAULT_MTU;
    this.delayMs = spec.delayMs;
    this.clock = clock;
    this.precise = clock === monotonicClock;
    this.bucket =
      spec.bitsPerSec > 0
        ? new TokenBucket({
            bytesPerSec: spec.bitsPerSec / 8,
            burstBytes: defaultBurstBytes(this.mtu),
            clock,
          })
        : null;
    this.payloadPerWire = 1 / wireFactor(this.mtu);
    this.pauseWire = queueBytes / this.payloadPerWire;
    // Resume once a quarter has drained: the resume timer can fire milliseconds late on a busy
    // machine, and the three quarters left must keep the link busy meanwhile.
    this.resumeWire = (this.pauseWire * 3) / 4;
  }

  /** Charges a chunk; returns its departure time. Pauses `pipe` if the queue is now over its bound. */
  charge(pipe: Pipe, now: number, bytes: number): number {
    const bucket = this.bucket!;
    const wire = wireBytesForChunk(bytes, this.mtu);
    this.stats.wireBytes += wire;
    const wait = bucket.reserve(wire);
    if (wait > 0) {
      const debt = (wait * bucket.bytesPerSec) / 1000;
      const queued = debt * this.payloadPerWire;
      if (queued > this.stats.maxQueuedBytes) this.stats.maxQueuedBytes = queued;
      if (debt > this.pauseWire && !this.paused.has(pipe)) {
        this.paused.add(pipe);
        this.stats.queuePauses++;
        pipe.setPause(PAUSE_QUEUE);
        if (this.resumeTimer === null) this.armResume(debt);
      }
    }
    return now + wait;
  }

  queuedBytes(): number {
    return this.bucket === null ? 0 : this.bucket.debt() * this.payloadPerWire;
  }

  private armResume(debt: number): void {
    const ms = ((debt - this.resumeWire) * 1000) / this.bucket!.bytesPerSec;
    this.resumeTimer = setTimeout(this.onResumeTimer, Math.max(1, ms - TIMER_SLACK_MS));
  }

  private resumeDrained(): void {
    this.resumeTimer = null;
    const debt = this.bucket!.debt();
    if (debt > this.resumeWire + this.bucket!.bytesPerSec / 2000) {
      this.armResume(debt);
      return;
    }
    for (const p of this.paused) p.clearPause(PAUSE_QUEUE);
    this.paused.clear();
  }

  forget(pipe: Pipe): void {
    this.pipes.delete(pipe);
    this.paused.delete(pipe);
    if (this.paused.size === 0 && this.resumeTimer !== null) {
      clearTimeout(this.resumeTimer);
      this.resumeTimer = null;
    }
  }

  close(): void {
    if (this.resumeTimer !== null) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    this.paused.clear();
  }
}

/** One direction of one connection: src's bytes, through the link direction, to dst. */
class Pipe {
  private readonly chunks: (Buffer | undefined)[] = [];
  private readonly due: number[] = [];
  private head = 0;
  private lastDue = 0;
  buffered = 0;
  private blocked = false;
  private pauseFlags = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly direct: boolean;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };
  private readonly onImmediate = (): void => {
    this.immediate = null;
    this.flush();
  };
  readonly onData = (chunk: Buffer): void => this.receive(chunk);
  readonly onEnd = (): void => this.receiveEnd();
  readonly onDrain = (): void => {
    this.blocked = false;
    this.clearPause(PAUSE_BLOCKED);
    this.flush();
  };

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly link: LinkDirection,
    initialPause: number,
  ) {
    this.direct = link.bucket === null && link.delayMs === 0;
    this.pauseFlags = initialPause;
    link.pipes.add(this);
    src.on("data", this.onData);
    src.on("end", this.onEnd);
    dst.on("drain", this.onDrain);
  }

  setPause(flag: number): void {
    if (this.pauseFlags === 0) this.src.pause();
    this.pauseFlags |= flag;
  }

  clearPause(flag: number): void {
    if ((this.pauseFlags & flag) === 0) return;
    this.pauseFlags &= ~flag;
    if (this.pauseFlags === 0 && !this.src.destroyed) this.src.resume();
  }

  private receive(chunk: Buffer): void {
    const s = this.link.stats;
    s.bytes += chunk.length;
    s.chunks++;
    if (this.direct) {
      if (this.head === this.chunks.length && !this.blocked) {
        this.write(chunk);
        return;
      }
      this.push(chunk, 0);
      return;
    }
    const now = this.link.clock.now();
    const departs = this.link.bucket === null ? now : this.link.charge(this, now, chunk.length);
    const at = departs + this.link.delayMs;
    if (this.head === this.chunks.length && !this.blocked && at <= now + TIMER_SLACK_MS) {
      this.write(chunk);
      return;
    }
    this.push(chunk, at);
    if (this.timer === null && !this.blocked) this.arm(now);
  }

  private receiveEnd(): void {
    if (this.head === this.chunks.length && this.link.delayMs === 0) {
      this.dst.end();
      return;
    }
    this.push(END, this.link.delayMs === 0 ? 0 : this.link.clock.now() + this.link.delayMs);
    if (this.timer === null && !this.blocked) this.arm(this.link.clock.now());
  }

  private push(chunk: Buffer, at: number): void {
    const due = Math.max(at, this.lastDue); // FIFO order even if the clock steps back
    this.lastDue = due;
    this.chunks.push(chunk);
    this.due.push(due);
    this.buffered += chunk.length;
    const s = this.link.stats;
    // Summed over this direction's connections only when asked (stats()); the max is per pipe.
    if (this.buffered > s.maxBufferedBytes) s.maxBufferedBytes = this.buffered;
  }

  /** Waits for the head chunk: a timer, or (a wait too short for one, on the real clock) a flush. */
  private arm(now: number): void {
    if (this.head === this.chunks.length || this.immediate !== null) return;
    const ms = this.due[this.head]! - now - TIMER_SLACK_MS;
    if (ms < PRECISE_WAIT_MS && this.link.precise) {
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    this.timer = setTimeout(this.onTimer, Math.max(ms, 1));
  }

  private write(chunk: Buffer): void {
    if (this.dst.destroyed) return;
    if (!this.dst.write(chunk)) {
      this.blocked = true;
      this.setPause(PAUSE_BLOCKED);
    }
  }

  /** Writes every due chunk (sleeping precisely for short waits, within budget), then arms the next. */
  private flush(): void {
    let now = this.link.clock.now();
    let limit = now + TIMER_SLACK_MS;
    let slept = 0;
    while (this.head < this.chunks.length && !this.blocked) {
      if (this.due[this.head]! > limit) {
        const wait = this.due[this.head]! - limit;
        if (!this.link.precise || wait >= PRECISE_WAIT_MS || slept + wait > SLEEP_BUDGET_MS) break;
        sleepMs(wait);
        slept += wait;
        now = this.link.clock.now();
        limit = now + TIMER_SLACK_MS;
        continue;
      }
      const chunk = this.chunks[this.head]!;
      this.chunks[this.head] = undefined;
      this.head++;
      this.buffered -= chunk.length;
      if (chunk === END) {
        if (!this.dst.destroyed) this.dst.end();
      } else {
        this.write(chunk);
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.due.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.due.splice(0, this.head);
      this.head = 0;
    }
    if (this.timer === null && !this.blocked) this.arm(now);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.chunks.length = 0;
    this.due.length = 0;
    this.head = 0;
    this.buffered = 0;
    this.src.off("data", this.onData);
    this.src.off("end", this.onEnd);
    this.dst.off("drain", this.onDrain);
    this.link.forget(this);
  }
}

/**
 * Resets a socket (RST) where possible, so an error on one side reads as an error on the other.
 * Not once end() was called: libuv refuses to reset a socket with a shutdown pending, and Node 20
 * then marks the handle closing without closing it — a leaked handle, and a worker whose exit
 * spins forever waiting for it. Such a socket has sent (or queued) its FIN; destroy() it.
 */
function reset(s: net.Socket): void {
  if (s.destroyed) return;
  if (!s.connecting && !s.writableEnded && typeof s.resetAndDestroy === "function") {
    s.resetAndDestroy();
    return;
  }
  s.destroy();
}

/** Utime and stime of the calling thread, from /proc/thread-self/stat (Linux; 100 ticks/s). */
export function threadCpu(): ThreadCpu | null {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "latin1");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return { userMs: Number(f[11]) * 10, systemMs: Number(f[12]) * 10 };
  } catch {
    return null;
  }
}

/** Starts the relay in this thread; resolves once it listens. */
export function startRelay(opts: RelayOptions): Promise<Relay> {
  const clock = opts.clock ?? monotonicClock;
  const queueBytes = opts.spec.queueBytes ?? defaultQueueBytes(opts.spec);
  const up = new LinkDirection(opts.spec, queueBytes, clock);
  const down = new LinkDirection(opts.spec, queueBytes, clock);
  const sockets = new Set<net.Socket>();
  const connections = { accepted: 0, active: 0, failed: 0 };

  const onConnection = (client: net.Socket): void => {
    connections.accepted++;
    connections.active++;
    const upstream = net.connect({ host: opts.to.host, port: opts.to.port, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    // The client was accepted paused; its bytes flow once the upstream connection is up.
    const upPipe = new Pipe(client, upstream, up, PAUSE_CONNECTING);
    const downPipe = new Pipe(upstream, client, down, 0);
    let connected = false;
    let failed = false;
    let closed = 0;
    upstream.once("connect", () => {
      connected = true;
      upPipe.clearPause(PAUSE_CONNECTING);
    });
    const onError = (): void => {
      if (!connected && !failed) {
        failed = true;
        connections.failed++;
      }
      reset(client);
      reset(upstream);
    };
    const onClose = (hadError: boolean): void => {
      if (hadError) onError();
      if (++closed < 2) return;
      upPipe.dispose();
      downPipe.dispose();
      sockets.delete(client);
      sockets.delete(upstream);
      connections.active--;
    };
    client.on("error", onError);
    upstream.on("error", onError);
    client.on("close", onClose);
    upstream.on("close", onClose);
  };

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);

  const directionStats = (d: LinkDirection): DirectionStats => {
    let buffered = 0;
    for (const p of d.pipes) buffered += p.buffered;
    return { ...d.stats, queuedBytes: d.queuedBytes(), bufferedBytes: buffered };
  };

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listenPort, opts.listenHost, () => {
      server.off("error", reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: addr.address,
        port: addr.port,
        queueBytes,
        stats: () => ({
          connections: { ...connections },
          up: directionStats(up),
          down: directionStats(down),
          queueBytes,
          cpu: threadCpu(),
        }),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) reset(s);
            up.close();
            down.close();
          }),
      });
    });
  });
}
