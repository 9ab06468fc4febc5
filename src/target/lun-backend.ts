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
  /** Copies `data` into the store at `offset`. */
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
