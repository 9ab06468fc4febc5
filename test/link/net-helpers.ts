/**
 * Loopback peers for the link relay's tests: servers on 127.0.0.1:0, deterministic data, digests,
 * and a bounded wait. Every socket a helper opens is closed by closeAll().
 */
import { createHash, type Hash } from "node:crypto";
import net from "node:net";

const open = new Set<net.Socket | net.Server>();

/** Remembers x for closeAll(); a socket's errors are expected (resets), tests look at "close". */
export function track<T extends net.Socket | net.Server>(x: T): T {
  open.add(x);
  if (x instanceof net.Socket) x.on("error", ignore);
  return x;
}

function ignore(): void {}

export async function closeAll(): Promise<void> {
  // Sockets first: a server's close() waits for its connections.
  for (const x of open) if (x instanceof net.Socket) x.destroy();
  for (const x of open) if (x instanceof net.Server) await new Promise<void>((r) => x.close(() => r()));
  open.clear();
}

/** Rejects after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function listen(onConnection: (s: net.Socket) => void): Promise<net.Server> {
  const server = track(net.createServer({ allowHalfOpen: true }, (s) => onConnection(track(s))));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

export function connect(port: number): Promise<net.Socket> {
  const s = track(net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }));
  s.setNoDelay(true);
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
  });
}

/** `total` deterministic bytes (xorshift32 from `seed`). */
export function pattern(total: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(total);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= total; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  for (let i = total - (total % 4); i < total; i++) b[i] = i & 0xff;
  return b;
}

export function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Writes `data` in pieces of 1..maxPiece bytes (sizes from `seed`), honouring backpressure, then ends. */
export async function sendAll(s: net.Socket, data: Buffer, maxPiece: number, seed: number): Promise<void> {
  let x = seed >>> 0 || 1;
  let off = 0;
  while (off < data.length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = Math.min(data.length - off, 1 + (x % maxPiece));
    const ok = s.write(data.subarray(off, off + n));
    off += n;
    if (!ok) await new Promise<void>((r) => s.once("drain", r));
  }
  s.end();
}

export interface Received {
  bytes: number;
  hash: Hash;
  /** performance.now() of the first and the last byte. */
  firstAt: number;
  lastAt: number;
  ended: Promise<void>;
}

/** Counts and hashes what `s` reads until its end. */
export function receive(s: net.Socket): Received {
  const r: Received = {
    bytes: 0,
    hash: createHash("sha256"),
    firstAt: 0,
    lastAt: 0,
    ended: new Promise<void>((resolve, reject) => {
      s.once("end", resolve);
      s.once("error", reject);
    }),
  };
  s.on("data", (chunk: Buffer) => {
    const t = performance.now();
    if (r.bytes === 0) r.firstAt = t;
    r.lastAt = t;
    r.bytes += chunk.length;
    r.hash.update(chunk);
  });
  return r;
}
