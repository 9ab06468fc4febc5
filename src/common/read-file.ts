/**
 * Reads a text file the user named (a workload, a result), turning every way it can fail into one
 * line that names the file: "<path>: file not found", "<path>: is a directory, expected <what>".
 */
import { readFileSync } from "node:fs";
import { InputError } from "./errors.js";

/** `make` builds the error (e.g. a WorkloadError) from its message. */
export function readUserFile(
  path: string,
  what: string,
  make: (message: string) => InputError = (m) => new InputError(m),
): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw make(`${path}: file not found`);
    if (code === "EISDIR") throw make(`${path}: is a directory, expected ${what}`);
    if (code === "EACCES") throw make(`${path}: permission denied`);
    throw make(`${path}: cannot read the file (${code ?? String(err)})`);
  }
}
