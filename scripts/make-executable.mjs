// tsc writes dist/cli.js without its execute bit. npx links the package's bin once and, when its
// cache already holds a link for this path (a fresh clone into a directory used before, as CI
// runners do), never sets the bit again: `sh: 1: iscsi-bench: Permission denied`. So the build
// sets it itself, every time.
import { chmodSync, statSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
chmodSync(cli, statSync(cli).mode | 0o755);
