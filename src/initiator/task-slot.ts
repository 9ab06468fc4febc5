/**
 * The session's task slots: one reusable record per outstanding command, indexed by the low bits
 * of its ITT (no Map, no per-command allocation once warm), and the FIFO of slots waiting for the
 * CmdSN window or for a new connection.
 *
 * ITT layout (task ITTs stay below 2^31; control ITTs have bit 31 set):
 *   bits 30..27  connection generation: bumped on every new connection of the session, so a PDU
 *                that names a task of an earlier connection is recognised and dropped
 *   bits 26..16  slot generation: bumped whenever a slot is released or its command re-issued
 *   bits 15..0   slot index
 */
import type { ScsiTask } from "./task.js";

export const SLOT_BITS = 16;
export const SLOT_MASK = (1 << SLOT_BITS) - 1;
export const MAX_SLOTS = 1 << SLOT_BITS;
const GEN_MASK = 0x7ff;
const CONN_GEN_SHIFT = 27;
export const CONN_GEN_MASK = 0xf;
export const SENSE_MAX = 252;

export const FREE = 0;
/** Waiting in the queue for the CmdSN window or a connection. */
export const QUEUED = 1;
export const INFLIGHT = 2;
/** Ended towards the caller while still in the wait queue: freed when the queue reaches it. */
export const CANCELLED = 4;
/** Answered BUSY or TASK SET FULL: sent again when its backoff timer fires. */
export const RETRY_WAIT = 5;

/** Escalation of a command that reached the command timeout (RFC 7143 7.1, 11.5). */
export const STAGE_NONE = 0;
export const STAGE_ABORT = 1;
export const STAGE_LUN_RESET = 2;

export interface Slot {
  index: number;
  gen: number;
  itt: number;
  state: number;
  task: ScsiTask | null;
  cmdSN: number;
  expDataSN: number;
  transferred: number;
  /** Tick of the last send (command timeouts count from it). */
  startTick: number;
  /** Tick the command was first sent at (BUSY retries stop after the command timeout from it). */
  firstTick: number;
  unitAttentions: number;
  busyRetries: number;
  stage: number;
  stageTick: number;
  senseBuf: Buffer;
  /** The BUSY backoff timer's callback, made once per slot. */
  retry: (() => void) | null;
}

export function newSlot(index: number): Slot {
  return {
    index,
    gen: 0,
    itt: index,
    state: FREE,
    task: null,
    cmdSN: 0,
    expDataSN: 0,
    transferred: 0,
    startTick: 0,
    firstTick: 0,
    unitAttentions: 0,
    busyRetries: 0,
    stage: STAGE_NONE,
    stageTick: 0,
    senseBuf: Buffer.allocUnsafe(SENSE_MAX),
    retry: null,
  };
}

/** Gives the slot a fresh ITT under connection generation `connGen`: earlier ITTs of it no longer match. */
export function renewItt(slot: Slot, connGen: number): void {
  slot.gen = (slot.gen + 1) & GEN_MASK;
  slot.itt = ((connGen << CONN_GEN_SHIFT) | (slot.gen << SLOT_BITS) | slot.index) >>> 0;
}

/** The connection generation an ITT was issued under. */
export function ittConnGen(itt: number): number {
  return (itt >>> CONN_GEN_SHIFT) & CONN_GEN_MASK;
}

/** A FIFO of slots (grows, never shrinks; no per-push allocation once warm). */
export class SlotQueue {
  private items: (Slot | null)[] = new Array(64).fill(null);
  private head = 0;
  private tail = 0;
  count = 0;
  push(s: Slot): void {
    if (this.count === this.items.length) this.grow();
    this.items[this.tail] = s;
    this.tail = (this.tail + 1) % this.items.length;
    this.count++;
  }
  /** Puts `list` in front of what waits, in the order given (re-issued commands go first). */
  pushFront(list: Slot[]): void {
    const rest: Slot[] = [];
    for (let s = this.shift(); s !== null; s = this.shift()) rest.push(s);
    for (const s of list) this.push(s);
    for (const s of rest) this.push(s);
  }
  shift(): Slot | null {
    if (this.count === 0) return null;
    const s = this.items[this.head]!;
    this.items[this.head] = null;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return s;
  }
  private grow(): void {
    const bigger: (Slot | null)[] = new Array(this.items.length * 2).fill(null);
    for (let i = 0; i < this.count; i++) bigger[i] = this.items[(this.head + i) % this.items.length]!;
    this.items = bigger;
    this.head = 0;
    this.tail = this.count;
  }
}

/** Sense data says UNIT ATTENTION (fixed or descriptor format, SPC-4 4.5). */
export function isUnitAttention(sense: Buffer | null): boolean {
  if (!sense || sense.length < 3) return false;
  const code = sense[0]! & 0x7f;
  if (code === 0x70 || code === 0x71) return (sense[2]! & 0x0f) === 6;
  if (code === 0x72 || code === 0x73) return (sense[1]! & 0x0f) === 6;
  return false;
}

/** COMPARE AND WRITE and PERSISTENT RESERVE OUT must not run twice: they are failed, not re-issued. */
export function isIdempotent(task: ScsiTask): boolean {
  const op = task.cdb[0];
  return op !== 0x89 && op !== 0x5f;
}

/** Resets the result fields of a task before it is first sent. */
export function resetResult(task: ScsiTask): void {
  task.status = -1;
  task.sense = null;
  task.dataInTransferred = 0;
  task.residual = 0;
  task.error = null;
  task.reissued = 0;
}
