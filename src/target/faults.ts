/**
 * Fault injection in the built-in target: the spec grammar, its parser, and the seeded decisions.
 * Specs are plain strings (they cross into the target's worker thread as workerData) and are parsed
 * there again; parseFaultSpec is also what the commands call first, so a bad spec exits 2 before
 * anything starts.
 *
 * Grammar (one spec per --fault; durations as everywhere in the project: 500ms, 2s, 1m, a plain
 * number is seconds):
 *   close-after=<n>                         close the connection once its n-th SCSI command is answered
 *   close-every=<d>                         close the connection <d> after its login (and so on for
 *                                           every new connection)
 *   stall=<d>[,every=<d>][,after=<d>]       hold every outgoing PDU of every connection for <d>; the
 *                                           first stall starts <after> (default 0) after the first SCSI
 *                                           command the target receives, then again every <every>
 *   busy=<percent>                          answer that share of SCSI commands with BUSY (0x08)
 *   task-set-full=<percent>                 ... with TASK SET FULL (0x28)
 *   drop-response=<n>                       never answer the connection's n-th SCSI command (the task
 *                                           stays in the task set until aborted or the connection ends)
 *   corrupt-digest=<n>                      a wrong data digest on the connection's n-th Data-In PDU
 *                                           (only when DataDigest=CRC32C was negotiated)
 *   async-logout=<d>[,within=<d>]           <d> after login, an Asynchronous Message, AsyncEvent 1
 *                                           (logout request) with Parameter3 = <within> in seconds
 *                                           (default 10 s); no logout by then: the connection is closed
 *                                           (RFC 7143 11.9.1)
 *   unit-attention=<d>[,asc=<n>,ascq=<n>]   <d> after login, a unit attention on every LU for the
 *                                           connection's I_T nexus (default 29h/00h POWER ON, RESET, OR
 *                                           BUS DEVICE RESET OCCURRED)
 *
 * Counting and timing is per connection (a reconnecting initiator meets the fault again), except the
 * stall, which is target-wide like a stalled controller. BUSY and TASK SET FULL leave INQUIRY, REPORT
 * LUNS and REQUEST SENSE alone, so an initiator can still find out what it talks to. Their shares
 * are drawn from a PRNG seeded by (--fault-seed, connection number), so a run with one connection at
 * a time replays exactly.
 */
import { durationMs } from "../common/duration.js";
import { InputError } from "../common/errors.js";

export type FaultSpec =
  | { kind: "close-after"; commands: number }
  | { kind: "close-every"; everyMs: number }
  | { kind: "stall"; forMs: number; everyMs: number; afterMs: number }
  | { kind: "busy"; percent: number }
  | { kind: "task-set-full"; percent: number }
  | { kind: "drop-response"; command: number }
  | { kind: "corrupt-digest"; dataIn: number }
  | { kind: "async-logout"; afterMs: number; withinS: number }
  | { kind: "unit-attention"; afterMs: number; asc: number; ascq: number };

export type FaultKind = FaultSpec["kind"];

export const DEFAULT_FAULT_SEED = 1;
const DEFAULT_LOGOUT_WITHIN_S = 10;
const MAX_COUNT = 2 ** 32 - 1;
const MAX_DURATION_MS = 7 * 86_400_000;

const KINDS: ReadonlyArray<FaultKind> = [
  "close-after",
  "close-every",
  "stall",
  "busy",
  "task-set-full",
  "drop-response",
  "corrupt-digest",
  "async-logout",
  "unit-attention",
];

/** The options each kind takes after its main value. */
const EXTRA_KEYS: Record<FaultKind, ReadonlyArray<string>> = {
  "close-after": [],
  "close-every": [],
  stall: ["every", "after"],
  busy: [],
  "task-set-full": [],
  "drop-response": [],
  "corrupt-digest": [],
  "async-logout": ["within"],
  "unit-attention": ["asc", "ascq"],
};

/**
 * Parses one spec ("stall=2s,every=10s"). InputError `<option> "<spec>": <what is wrong>`, e.g.
 * `--fault "stall=5x": bad duration "5x"`.
 */
export function parseFaultSpec(text: string, option = "--fault"): FaultSpec {
  const fail = (why: string): never => {
    throw new InputError(`${option} ${JSON.stringify(text)}: ${why}`);
  };
  if (typeof text !== "string" || text.trim() === "") return fail("empty fault spec");
  const parts = text.trim().split(",");
  const [head, ...rest] = parts.map((p) => p.trim());
  const eq = head!.indexOf("=");
  const kind = (eq < 0 ? head! : head!.slice(0, eq)).toLowerCase() as FaultKind;
  if (!KINDS.includes(kind))
    return fail(`unknown fault "${eq < 0 ? head : head!.slice(0, eq)}" (expected ${KINDS.join(", ")})`);
  if (eq < 0 || head!.slice(eq + 1) === "") return fail(`${kind} needs a value (${kind}=...)`);
  const value = head!.slice(eq + 1);
  const extra = new Map<string, string>();
  for (const part of rest) {
    const e = part.indexOf("=");
    const key = (e < 0 ? part : part.slice(0, e)).toLowerCase();
    if (!EXTRA_KEYS[kind].includes(key)) {
      const allowed = EXTRA_KEYS[kind];
      fail(
        `unknown option "${part}"${allowed.length > 0 ? ` (${kind} takes ${allowed.map((k) => `${k}=`).join(", ")})` : ` (${kind} takes none)`}`,
      );
    }
    if (extra.has(key)) fail(`${key}= given twice`);
    if (e < 0 || part.slice(e + 1) === "") fail(`${key} needs a value`);
    extra.set(key, part.slice(e + 1));
  }
  const duration = (v: string, positive: boolean): number => {
    const ms = durationMs(v);
    if (ms === null || ms > MAX_DURATION_MS) return fail(`bad duration "${v}"`);
    if (positive && ms <= 0) return fail(`duration "${v}" must be more than 0`);
    return ms;
  };
  const count = (v: string): number => {
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= 1 && n <= MAX_COUNT)) return fail(`bad count "${v}" (expected an integer >= 1)`);
    return n;
  };
  const percent = (v: string): number => {
    const m = /^(\d+(?:\.\d+)?|\.\d+)%?$/.exec(v);
    const p = m === null ? Number.NaN : Number(m[1]);
    if (!(p >= 0 && p <= 100)) return fail(`bad percent "${v}" (expected 0..100)`);
    return p;
  };
  const byte = (key: string, fallback: number): number => {
    const v = extra.get(key);
    if (v === undefined) return fallback;
    const n = /^0x[0-9a-f]{1,2}$/i.test(v)
      ? Number.parseInt(v.slice(2), 16)
      : /^\d+$/.test(v)
        ? Number(v)
        : Number.NaN;
    if (!(n >= 0 && n <= 255)) return fail(`bad ${key} "${v}" (expected 0..255 or 0x00..0xff)`);
    return n;
  };
  switch (kind) {
    case "close-after":
      return { kind, commands: count(value) };
    case "close-every":
      return { kind, everyMs: duration(value, true) };
    case "stall": {
      const forMs = duration(value, true);
      const every = extra.get("every");
      const everyMs = every === undefined ? 0 : duration(every, true);
      if (everyMs > 0 && everyMs <= forMs) fail(`every=${every} must be longer than the stall ${value}`);
      const after = extra.get("after");
      return { kind, forMs, everyMs, afterMs: after === undefined ? 0 : duration(after, false) };
    }
    case "busy":
    case "task-set-full":
      return { kind, percent: percent(value) };
    case "drop-response":
      return { kind, command: count(value) };
    case "corrupt-digest":
      return { kind, dataIn: count(value) };
    case "async-logout": {
      const within = extra.get("within");
      const withinMs = within === undefined ? DEFAULT_LOGOUT_WITHIN_S * 1000 : duration(within, true);
      if (withinMs % 1000 !== 0 || withinMs / 1000 > 0xffff) {
        fail(`within=${within} must be whole seconds, 1..65535 (Parameter3 is in seconds)`);
      }
      return { kind, afterMs: duration(value, false), withinS: withinMs / 1000 };
    }
    case "unit-attention":
      return { kind, afterMs: duration(value, false), asc: byte("asc", 0x29), ascq: byte("ascq", 0x00) };
  }
  return fail("unreachable");
}

/** Parses every spec; busy and task-set-full together may not exceed 100 %. */
export function parseFaultSpecs(texts: ReadonlyArray<string>, option = "--fault"): FaultSpec[] {
  const specs = texts.map((t) => parseFaultSpec(t, option));
  const share = specs.reduce(
    (s, f) => s + (f.kind === "busy" || f.kind === "task-set-full" ? f.percent : 0),
    0,
  );
  if (share > 100)
    throw new InputError(`${option}: busy and task-set-full add up to ${share} %, more than 100 %`);
  return specs;
}

/** The spec again, in its canonical spelling, for log lines. */
export function formatFault(f: FaultSpec): string {
  switch (f.kind) {
    case "close-after":
      return `close-after=${f.commands}`;
    case "close-every":
      return `close-every=${ms(f.everyMs)}`;
    case "stall":
      return `stall=${ms(f.forMs)}${f.everyMs > 0 ? `,every=${ms(f.everyMs)}` : ""}${f.afterMs > 0 ? `,after=${ms(f.afterMs)}` : ""}`;
    case "busy":
    case "task-set-full":
      return `${f.kind}=${f.percent}`;
    case "drop-response":
      return `drop-response=${f.command}`;
    case "corrupt-digest":
      return `corrupt-digest=${f.dataIn}`;
    case "async-logout":
      return `async-logout=${ms(f.afterMs)},within=${f.withinS}s`;
    case "unit-attention":
      return `unit-attention=${ms(f.afterMs)},asc=0x${hex2(f.asc)},ascq=0x${hex2(f.ascq)}`;
  }
}

function ms(n: number): string {
  return `${n}ms`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** mulberry32: small, fast, seeded. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ScsiFaultStatus = { BUSY: 0x08, TASK_SET_FULL: 0x28 } as const;

/** Commands BUSY/TASK SET FULL never touch: INQUIRY, REQUEST SENSE, REPORT LUNS. */
function exempt(opcode: number): boolean {
  return opcode === 0x12 || opcode === 0x03 || opcode === 0xa0;
}

/**
 * The count-based faults of one connection: which command is answered BUSY, dropped or followed
 * by a close, and which Data-In gets a bad digest. No timers here (see fault-injector.ts).
 */
export class ConnectionFaultCounter {
  /** SCSI commands received on this connection. */
  commands = 0;
  /** Data-In PDUs sent on this connection. */
  dataIns = 0;
  private readonly random: () => number;
  private readonly busy: number;
  private readonly taskSetFull: number;
  readonly closeAfter: number;
  readonly dropResponse: number;
  readonly corruptDigest: number;

  constructor(specs: ReadonlyArray<FaultSpec>, seed: number, connectionNumber: number) {
    let busy = 0;
    let tsf = 0;
    let closeAfter = 0;
    let drop = 0;
    let corrupt = 0;
    for (const f of specs) {
      if (f.kind === "busy") busy += f.percent / 100;
      else if (f.kind === "task-set-full") tsf += f.percent / 100;
      else if (f.kind === "close-after") closeAfter = f.commands;
      else if (f.kind === "drop-response") drop = f.command;
      else if (f.kind === "corrupt-digest") corrupt = f.dataIn;
    }
    this.busy = busy;
    this.taskSetFull = tsf;
    this.closeAfter = closeAfter;
    this.dropResponse = drop;
    this.corruptDigest = corrupt;
    // one stream per connection: seed and connection number mixed (splitmix-style constant)
    this.random = seededRandom((seed ^ Math.imul(connectionNumber + 1, 0x9e3779b9)) >>> 0);
  }

  /**
   * A SCSI command arrived: counts it and returns the status it is to be answered with instead of
   * executing (BUSY, TASK SET FULL) or -1. One draw per command, exempt or not, so the sequence
   * depends only on the command count.
   */
  onCommand(opcode: number): number {
    this.commands++;
    if (this.busy === 0 && this.taskSetFull === 0) return -1;
    const r = this.random();
    if (exempt(opcode)) return -1;
    if (r < this.busy) return ScsiFaultStatus.BUSY;
    if (r < this.busy + this.taskSetFull) return ScsiFaultStatus.TASK_SET_FULL;
    return -1;
  }

  /** Whether the command just counted (onCommand) is the one whose response is dropped. */
  dropThis(): boolean {
    return this.commands === this.dropResponse;
  }

  /** Whether the connection closes once the command just counted is answered. */
  closeAfterThis(): boolean {
    return this.commands === this.closeAfter;
  }

  /** A Data-In goes out: whether its data digest is to be corrupted. */
  onDataIn(): boolean {
    this.dataIns++;
    return this.dataIns === this.corruptDigest;
  }
}

/**
 * The target-wide stall schedule: windows [anchor + k * every, anchor + k * every + for), anchored
 * at the first SCSI command plus `after`. `until(now)` is the end of the window `now` is in, or 0.
 */
export class StallSchedule {
  private anchor = -1;

  constructor(private readonly spec: { forMs: number; everyMs: number; afterMs: number }) {}

  get started(): boolean {
    return this.anchor >= 0;
  }

  /** The first SCSI command arrived at `now` (ms): the schedule starts (idempotent). */
  start(now: number): void {
    if (this.anchor < 0) this.anchor = now + this.spec.afterMs;
  }

  /** The start of the next window at or after `now`, or -1 when no window is left. */
  nextStart(now: number): number {
    if (this.anchor < 0) return -1;
    if (now <= this.anchor) return this.anchor;
    if (this.spec.everyMs <= 0) return -1;
    const k = Math.ceil((now - this.anchor) / this.spec.everyMs);
    return this.anchor + k * this.spec.everyMs;
  }

  /** When the window containing `now` ends, or 0 when `now` is outside every window. */
  until(now: number): number {
    if (this.anchor < 0 || now < this.anchor) return 0;
    const into = this.spec.everyMs > 0 ? (now - this.anchor) % this.spec.everyMs : now - this.anchor;
    return into < this.spec.forMs ? now - into + this.spec.forMs : 0;
  }
}
