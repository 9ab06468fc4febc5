import * as fs from "node:fs";
import type { LunBackend } from "./lun-backend.js";

const ZERO_BLOCK = Buffer.alloc(1024 * 1024);

/**
 * A LUN stored in a file, opened once. The file is created if missing and extended to
 * `sizeBytes` (sparse where the filesystem allows); with no size given, the file's size is
 * used. Reads and writes are positional; flush() is fsync (SYNCHRONIZE CACHE, FUA, close).
 * UNMAP writes zeros (Node has no hole punching), so GET LBA STATUS reports everything mapped.
 */
export function createFileBackend(
  path: string,
  sizeBytes: number | undefined,
  readOnly: boolean,
): LunBackend {
  let fd: number;
  if (readOnly) {
    fd = fs.openSync(path, "r");
  } else {
    try {
      fd = fs.openSync(path, "r+");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      fd = fs.openSync(path, "w+");
    }
  }
  let size: number;
  try {
    const current = fs.fstatSync(fd).size;
    size = sizeBytes ?? current;
    if (!readOnly && current < size) fs.ftruncateSync(fd, size);
    if (readOnly && current < size) throw new RangeError(`file ${path} is smaller than the LUN size`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  let open = true;

  function read(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n === 0) {
        out.fill(0, done); // beyond the file's end (cannot happen after extension): zeros
        break;
      }
      done += n;
    }
    return out;
  }

  function write(offset: number, data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(fd, data, done, data.length - done, offset + done);
    }
  }

  function unmap(offset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const n = Math.min(ZERO_BLOCK.length, length - done);
      write(offset + done, n === ZERO_BLOCK.length ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, n));
      done += n;
    }
  }

  function flush(): Promise<void> {
    if (!open || readOnly) return Promise.resolve();
    return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }

  return {
    kind: "file",
    sizeBytes: size,
    read,
    write,
    unmap,
    extent: (_offset, maxLength) => ({ mapped: true, length: maxLength }),
    flush,
    close: async () => {
      if (!open) return;
      await flush();
      open = false;
      await new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
    },
  };
}
