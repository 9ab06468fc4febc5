import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import {
  defaultInitiatorName,
  iscsiNameProblem,
  MAX_ISCSI_NAME_BYTES,
  sanitizeForIqn,
  validateIscsiName,
} from "../../src/iscsi/names.js";

describe("validateIscsiName", () => {
  it.each([
    "iqn.2001-04.com.example",
    "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
    "iqn.2001-04.com.example:storage.tape1.sys1.xyz",
    "iqn.1994-05.com.redhat:185ce16b55ad",
    "iqn.2003-01.org.linux-iscsi.host.x8664:sn.abcdef012345",
    "iqn.2026-11.io.iscsi-bench:target",
    "iqn.2026-11.io.iscsi-bench:d\u00e9p\u00f4t", // lowercase non-ASCII letters survive stringprep
    "eui.02004567A425678D", // RFC 7143 4.2.7.5 example
    "eui.02004567a425678d",
    "naa.52004567BA64678D",
    "naa.62004567BA64678D0123456789ABCDEF",
  ])("accepts %s", (name) => {
    expect(iscsiNameProblem(name)).toBeNull();
    expect(() => validateIscsiName(name)).not.toThrow();
  });

  it.each([
    ["", "must not be empty"],
    ["x", "must start with iqn., eui. or naa."],
    ["target1", "must start with iqn., eui. or naa."],
    ["IQN.2001-04.com.example:a", 'type "IQN." must be lowercase "iqn."'],
    ["Eui.02004567A425678D", 'must be lowercase "eui."'],
    ["iqn.", "date yyyy-mm"],
    ["iqn.2001.com.example", "date yyyy-mm"],
    ["iqn.01-04.com.example", "date yyyy-mm"],
    ["iqn.2001-13.com.example:a", 'date "2001-13" is not a valid yyyy-mm'],
    ["iqn.2001-00.com.example:a", "not a valid yyyy-mm"],
    ["iqn.2001-04.:a", "needs a reversed domain name"],
    ["iqn.2001-04.com..example:a", "empty label"],
    ["iqn.2001-04.com.Example:a", 'uppercase "E"'],
    ["iqn.2001-04.com.ex_ample:a", 'character "_"'],
    ["iqn.2001-04.com.example:", "nothing after ':'"],
    ["iqn.2001-04.com.example:Disk1", 'uppercase "D" (iSCSI names are lowercase)'],
    ["iqn.2001-04.com.example:disk 1", "a space"],
    ["iqn.2001-04.com.example:disk/1", 'character "/"'],
    ["iqn.2001-04.com.example:disk\u0001", "control character U+0001"],
    ["iqn.2001-04.com.example:\u00c9", "character"],
    ["eui.02004567A425678", "exactly 16 hex digits"],
    ["eui.02004567A425678G", "exactly 16 hex digits"],
    ["naa.0123456789abcdef0", "16 or 32 hex digits"],
    ["naa.", "16 or 32 hex digits"],
  ])("rejects %j: %s", (name, problem) => {
    expect(iscsiNameProblem(name)).toContain(problem);
    expect(() => validateIscsiName(name)).toThrow(InputError);
    expect(() => validateIscsiName(name)).toThrow(problem);
  });

  it("names the label and the name in the message", () => {
    expect(() => validateIscsiName("x", "initiator name")).toThrow(
      'initiator name "x": must start with iqn., eui. or naa.',
    );
  });

  it("limits names to 223 bytes of UTF-8", () => {
    const base = "iqn.2001-04.com.example:";
    const ok = base + "a".repeat(MAX_ISCSI_NAME_BYTES - base.length);
    expect(iscsiNameProblem(ok)).toBeNull();
    expect(iscsiNameProblem(`${ok}a`)).toBe("is 224 bytes long, the limit is 223");
    // 2-byte characters count twice
    const wide = base + "\u00e9".repeat(100);
    expect(iscsiNameProblem(wide)).toBe(`is ${base.length + 200} bytes long, the limit is 223`);
  });
});

describe("defaultInitiatorName", () => {
  it("is iqn.2026-11.io.iscsi-bench:<sanitized hostname> and valid", () => {
    const name = defaultInitiatorName();
    expect(name).toBe(`iqn.2026-11.io.iscsi-bench:${sanitizeForIqn(hostname())}`);
    expect(iscsiNameProblem(name)).toBeNull();
  });

  it.each([
    ["Build-Host_01.Example.COM", "iqn.2026-11.io.iscsi-bench:build-host-01.example.com"],
    ["my host", "iqn.2026-11.io.iscsi-bench:my-host"],
    ["", "iqn.2026-11.io.iscsi-bench:host"],
    ["__", "iqn.2026-11.io.iscsi-bench:host"],
    ["\u00fcber", "iqn.2026-11.io.iscsi-bench:ber"],
  ])("sanitizes %j", (host, expected) => {
    expect(defaultInitiatorName(host)).toBe(expected);
    expect(iscsiNameProblem(expected)).toBeNull();
  });

  it("stays within 223 bytes for a very long host name", () => {
    const name = defaultInitiatorName("h".repeat(400));
    expect(Buffer.byteLength(name)).toBe(223);
    expect(iscsiNameProblem(name)).toBeNull();
  });
});
