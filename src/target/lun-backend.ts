/**
 * The storage behind a logical unit. Offsets and lengths are in bytes and always whole blocks
 * (the LU checks ranges before calling). Data access is synchronous: the memory backend has no
 * I/O to wait for, and the file backend uses positional reads/writes on a file opened once;
 * only the durability points (flush, close) are asynchronous.
 */
export interface LunBackend {
  readonly kind: "memory" | "file";
  readonly sizeBytes: number;
  /**
   * Bytes [offset, offset + length). May return a view of the store (memory backend, range
   * within one chunk), valid until the next write to that range; callers must not modify it.
   */
  read(offset: number, length: number): Buffer;
  /**
   * Copies `data` into the store at `offset`. Throws when it cannot; an error for which
   * isNoSpace() holds means the store ran out of room (thin provisioning's "space allocation
   * failed"), and the range then holds old bytes, new bytes or a mix of them.
   */
  write(offset: number, data: Buffer): void;
  /** Deallocates the range; afterwards it reads as zeros (LBPRZ). */
  unmap(offset: number, length: number): void;
  /**
   * The provisioning state at `offset`: whether it is mapped, and how many bytes from `offset`
   * (at most `maxLength`, at least one block) share that state.
   */
  extent(offset: number, maxLength: number): { mapped: boolean; length: number };
  /** Makes everything written so far durable. */
  flush(): Promise<void>;
  /** Flushes and releases the store. Further calls are errors. */
  close(): Promise<void>;
}

/** A write the store has no room for (a full tmpfs, memory that cannot be had). */
export class NoSpaceError extends Error {
  readonly code = "ENOSPC";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NoSpaceError";
  }
}

/** Whether `err` means "no room for this write": ours, or the filesystem's ENOSPC / EDQUOT. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}
