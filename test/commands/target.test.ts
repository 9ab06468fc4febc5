/**
 * The standalone target command's option handling (cli.ts wires it in): sizes, paths, credentials,
 * and the one-line InputErrors that make the command exit 2. Secrets never appear in messages.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import {
  parseLunSpec,
  serveTarget,
  targetCommandOptions,
  targetOptionsFromCli,
} from "../../src/commands/target.js";
import { InputError } from "../../src/common/errors.js";

const dir = mkdtempSync(join(tmpdir(), "iscsi-bench-cmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("target command options", () => {
  it("parses sizes as memory LUNs, existing paths and path:size as file LUNs", () => {
    const f = join(dir, "lun.img");
    writeFileSync(f, Buffer.alloc(4096));
    expect(parseLunSpec("1GiB")).toEqual({ kind: "memory", sizeBytes: 1024 ** 3 });
    expect(parseLunSpec("4096")).toEqual({ kind: "memory", sizeBytes: 4096 });
    expect(parseLunSpec(f)).toEqual({ kind: "file", path: f });
    expect(parseLunSpec(`${dir}/new.img:64MiB`)).toEqual({
      kind: "file",
      path: `${dir}/new.img`,
      sizeBytes: 64 * 1024 ** 2,
    });
    expect(() => parseLunSpec("no-such-file")).toThrow(InputError);
  });

  it("commander defaults and repeatable options", () => {
    const cmd = targetCommandOptions(new Command("target"));
    cmd.parse(["--lun", "1MiB", "--lun", "2MiB", "--allow", "iqn.2026-11.a:b", "--chap", "u:s3cr3t-value"], {
      from: "user",
    });
    const o = targetOptionsFromCli(cmd.opts());
    expect(o.host).toBe("127.0.0.1");
    expect(o.port).toBe(3260);
    expect(o.luns).toHaveLength(2);
    expect(o.blockSize).toBe(512);
    expect(o.allow).toEqual(["iqn.2026-11.a:b"]);
    expect(o.chap).toEqual({ user: "u", secret: "s3cr3t-value" });
  });

  it("bad values are InputErrors that name the option and never echo a secret", () => {
    expect(() => targetOptionsFromCli({ port: "70000" })).toThrow(/--port/);
    expect(() => targetOptionsFromCli({ blockSize: "1024" })).toThrow(/--block-size/);
    let msg = "";
    try {
      targetOptionsFromCli({ chap: "onlysecretnocolon" });
    } catch (e) {
      msg = (e as Error).message;
      expect(e).toBeInstanceOf(InputError);
    }
    expect(msg).toContain("--chap");
    expect(msg).not.toContain("onlysecretnocolon");
  });

  it("serveTarget exits 2 on bad options with one line on stderr", async () => {
    const lines: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      lines.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await serveTarget({ iqn: "not a name", port: "0" })).toBe(2);
      expect(await serveTarget({ lun: ["0"], port: "0" })).toBe(2);
    } finally {
      process.stderr.write = orig;
    }
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.trim().split("\n")).toHaveLength(1);
  });

  it("serves until SIGTERM, printing one URL per LUN", async () => {
    const out: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      out.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    let code: Promise<number>;
    try {
      code = serveTarget({ port: "0", lun: ["1MiB", "2MiB"], iqn: "iqn.2026-11.io.iscsi-bench:cmd" });
      for (let i = 0; i < 50 && out.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.stdout.write = orig;
    }
    expect(out.join("")).toMatch(
      /^iscsi:\/\/127\.0\.0\.1:\d+\/iqn\.2026-11\.io\.iscsi-bench:cmd\/0\niscsi:\/\/127\.0\.0\.1:\d+\/iqn\.2026-11\.io\.iscsi-bench:cmd\/1\n$/,
    );
    process.emit("SIGTERM", "SIGTERM");
    expect(await code!).toBe(0);
  });
});
