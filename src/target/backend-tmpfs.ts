import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { NoSpaceError } from "./lun-backend.js";

/** Where the memory LUN's file goes when nothing else is asked for. */
export const DEFAULT_TMPFS_DIR = "/dev/shm";

/** statfs f_type of a tmpfs (linux/magic.h TMPFS_MAGIC). */
const TMPFS_MAGIC = 0x01021994;

/** An open, already unlinked, sparse file on a tmpfs: the bytes of one memory LUN. */
export interface TmpfsFile {
  fd: number;
  /** The name it had (gone from the directory; /proc/<pid>/fd shows it as "(deleted)"). */
  path: string;
}

let created = 0;

/**
 * Opens a fresh file under `dir` (mode 0600, O_EXCL on a unique name), extends it to `sizeBytes`
 * without allocating anything (ftruncate: a hole), probes that it takes a write, and unlinks it at
 * once, so nothing is left behind however the process ends: the kernel frees the pages when the
 * last descriptor closes. Why a file at all: a first write into a fresh anonymous page costs a
 * user page fault (13-29 us in a PVM guest), while pwrite into a tmpfs hole allocates the page in
 * the kernel without one (about 5 us, the same as a rewrite).
 *
 * With `needRoom`, a tmpfs with less free space than `sizeBytes` is refused too: a container's
 * 64 MiB /dev/shm would otherwise turn a 1 GiB LUN into one that fails writes after 64 MiB, where
 * anonymous memory would have held it.
 *
 * Returns a reason (a string) when `dir` is not a usable tmpfs; the caller falls back.
 */
export function openUnlinkedTmpfsFile(dir: string, sizeBytes: number, needRoom: boolean): TmpfsFile | string {
  let stat: fs.StatsFs;
  try {
    stat = fs.statfsSync(dir);
  } catch (err) {
    return `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  if (Number(stat.type) !== TMPFS_MAGIC) return `${dir} is not a tmpfs`;
  const free = Number(stat.bavail) * Number(stat.bsize);
  if (needRoom && free < sizeBytes)
    return `${dir} has ${Math.floor(free / 2 ** 20)} MiB free, less than the LUN`;
  let fd = -1;
  let path = "";
  for (let attempt = 0; fd < 0; attempt++) {
    path = join(
      dir,
      `iscsi-bench-lun-${process.pid}-${threadId}-${created++}-${randomBytes(4).toString("hex")}`,
    );
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && attempt < 8) continue;
      return `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
  }
  try {
    fs.unlinkSync(path);
    fs.ftruncateSync(fd, sizeBytes);
    // a full tmpfs (or one mounted read-only under us) refuses here, not on the first WRITE;
    // the probe page stays allocated but is never read: block 0 is unmapped until written
    fs.writeSync(fd, Buffer.alloc(1), 0, 1, 0);
  } catch (err) {
    try {
      fs.unlinkSync(path);
    } catch {
      // unlinked already (the usual case) or never there
    }
    fs.closeSync(fd);
    return `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  return { fd, path };
}

/** Errors of the file that mean "no room": a full tmpfs, a quota, or memory the kernel would not give. */
function noSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "ENOMEM";
}

/** Reads `length` bytes at `position` into out[at..] (zeros past the end, which ftruncate rules out). */
export function preadFully(fd: number, out: Buffer, at: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, out, at + done, length - done, position + done);
    if (got === 0) {
      out.fill(0, at + done, at + length);
      return;
    }
    done += got;
  }
}

/**
 * Writes all of `data` at `offset`. No room: NoSpaceError (the caller marks nothing mapped, so
 * blocks that were unmapped still read as zeros; mapped ones may hold part of the new bytes, and
 * the command fails, as a disk's would).
 */
export function pwriteFully(fd: number, data: Buffer, offset: number): void {
  let done = 0;
  try {
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
  } catch (err) {
    if (noSpace(err)) throw new NoSpaceError("memory LUN: the tmpfs is full", { cause: err });
    throw err;
  }
}
