/**
 * The session's control operations in flight (NOP-Out pings, task management, text, logout):
 * each has an ITT with bit 31 set (task ITTs never have it, task-slot.ts) and a Promise the
 * caller awaits. Rare next to commands, so a Map and a Promise each are fine here.
 */
import type { TextAssembler } from "../iscsi/text.js";
import type { Slot } from "./task-slot.js";

export type ControlKind = "nop" | "tmf" | "logout" | "text";

export interface ControlOp {
  kind: ControlKind;
  resolve: (value: number) => void;
  reject: (err: Error) => void;
  sentAt: bigint;
  /** Session tick it was sent at: an answer later than the command timeout means a dead connection. */
  sentTick: number;
  /** For ABORT TASK: the slot and ITT of the referenced task. */
  slot: Slot | null;
  refItt: number;
  lun: number;
  tmfFunction: number;
  /** Sent by the session's own escalation (command timeout), not by the caller. */
  internal: boolean;
  /** For a logout the target asked for: log in again afterwards. */
  relogin: boolean;
  /** For text: assembled response. */
  text: TextAssembler | null;
  textResult: Buffer | null;
}

export class ControlOps {
  private readonly ops = new Map<number, ControlOp>();
  private counter = 1;

  get size(): number {
    return this.ops.size;
  }

  /** A control ITT not in use (bit 31 set, RFC 7143 11.1.3: any value but 0xffffffff). */
  nextItt(): number {
    let itt: number;
    do {
      // 31 bits, never 0x7fffffff: 0x80000000 | 0x7fffffff would be the reserved tag
      this.counter = this.counter >= 0x7ffffffe ? 1 : this.counter + 1;
      itt = (0x80000000 | this.counter) >>> 0;
    } while (this.ops.has(itt));
    return itt;
  }

  /** A new operation of `kind`; `refuse` rejects it at once (no connection) instead of registering it. */
  create(
    kind: ControlKind,
    tick: number,
    refuse: Error | null,
  ): { itt: number; op: ControlOp; promise: Promise<number> } {
    const itt = this.nextItt();
    let resolve!: (v: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const op: ControlOp = {
      kind,
      resolve,
      reject,
      sentAt: process.hrtime.bigint(),
      sentTick: tick,
      slot: null,
      refItt: 0,
      lun: 0,
      tmfFunction: 0,
      internal: false,
      relogin: false,
      text: null,
      textResult: null,
    };
    if (refuse !== null) reject(refuse);
    else this.ops.set(itt, op);
    return { itt, op, promise };
  }

  get(itt: number): ControlOp | undefined {
    return this.ops.get(itt);
  }

  /** Removes and returns the operation of `itt` if it is of `kind`. */
  take(itt: number, kind: ControlKind): ControlOp | null {
    const op = this.ops.get(itt);
    if (op === undefined || op.kind !== kind) return null;
    this.ops.delete(itt);
    return op;
  }

  delete(itt: number): void {
    this.ops.delete(itt);
  }

  /** Rejects and forgets every operation but those `keep` names. */
  rejectAll(err: Error, keep: (op: ControlOp) => boolean = () => false): void {
    for (const [, op] of this.ops) if (!keep(op)) op.reject(err);
    this.ops.clear();
  }

  values(): IterableIterator<ControlOp> {
    return this.ops.values();
  }
}
