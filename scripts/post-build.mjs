// Runs after `tsc` in `npm run build` (and `prepare`):
// 1. tsc writes dist/cli.js without its execute bit. npx links the package's bin once and, when its
//    cache already holds a link for this path (a fresh clone into a directory used before, as CI
//    runners do), never sets the bit again: `sh: 1: iscsi-bench: Permission denied`. So the build
//    sets it itself, every time.
// 2. It stamps dist/ as built from the sources as they are now (test/engine/e2e.ts reads the
//    stamp): without it, the first test to call buildDist() would compile dist/ again while other
//    test files already run the CLI from it.
import { chmodSync, statSync, writeFileSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
chmodSync(cli, statSync(cli).mode | 0o755);
writeFileSync(new URL("../dist/.engine-test-build", import.meta.url), `${Date.now()}\n`);
