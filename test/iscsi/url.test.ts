import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { formatIscsiUrl, type IscsiUrl, parseIscsiUrl, redactUrl } from "../../src/iscsi/url.js";

const FULL = { target: true, lun: true };
const PORTAL = { target: false, lun: false };
const NO_ENV: NodeJS.ProcessEnv = {};
const IQN = "iqn.2001-04.com.example:disk1";
const SECRET = "S3cr3t-pw!x";

function base(over: Partial<IscsiUrl>): IscsiUrl {
  return {
    host: "127.0.0.1",
    port: 3260,
    targetName: null,
    lun: null,
    user: null,
    secret: null,
    targetUser: null,
    targetSecret: null,
    ...over,
  };
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}

describe("parseIscsiUrl: valid URLs", () => {
  it.each<[string, { target: boolean; lun: boolean }, Partial<IscsiUrl>]>([
    [`iscsi://127.0.0.1/${IQN}/0`, FULL, { targetName: IQN, lun: 0 }],
    [`iscsi://127.0.0.1:3261/${IQN}/16383`, FULL, { port: 3261, targetName: IQN, lun: 16383 }],
    [`ISCSI://127.0.0.1/${IQN}/7`, FULL, { targetName: IQN, lun: 7 }],
    [
      `iscsi://storage-1.example.com:860/${IQN}/1`,
      FULL,
      { host: "storage-1.example.com", port: 860, targetName: IQN, lun: 1 },
    ],
    [`iscsi://[::1]/${IQN}/0`, FULL, { host: "::1", targetName: IQN, lun: 0 }],
    [`iscsi://[fe80::1:2]:3262/${IQN}/0`, FULL, { host: "fe80::1:2", port: 3262, targetName: IQN, lun: 0 }],
    ["iscsi://127.0.0.1", PORTAL, {}],
    ["iscsi://127.0.0.1:3300/", PORTAL, { port: 3300 }],
    ["iscsi://[::1]:3300", PORTAL, { host: "::1", port: 3300 }],
    [`iscsi://127.0.0.1/${IQN}`, { target: true, lun: false }, { targetName: IQN }],
    [`iscsi://127.0.0.1/${IQN}/`, { target: true, lun: false }, { targetName: IQN }],
    [`iscsi://127.0.0.1/${IQN}/3`, PORTAL, { targetName: IQN, lun: 3 }],
    [`iscsi://127.0.0.1/iqn.2001-04.com.example%3Adisk1/0`, FULL, { targetName: IQN, lun: 0 }],
    [
      `iscsi://bob%${SECRET}@127.0.0.1/${IQN}/0`,
      FULL,
      { user: "bob", secret: SECRET, targetName: IQN, lun: 0 },
    ],
    [
      `iscsi://bob:${SECRET}@127.0.0.1/${IQN}/0`,
      FULL,
      { user: "bob", secret: SECRET, targetName: IQN, lun: 0 },
    ],
    [
      `iscsi://bob%p@ss@[::1]:3261/${IQN}/0`,
      FULL,
      { user: "bob", secret: "p@ss", host: "::1", port: 3261, targetName: IQN, lun: 0 },
    ],
    [
      `iscsi://bob%pw@127.0.0.1/${IQN}/0?target_user=tgt&target_password=tpw`,
      FULL,
      { user: "bob", secret: "pw", targetUser: "tgt", targetSecret: "tpw", targetName: IQN, lun: 0 },
    ],
  ])("%s", (text, need, expected) => {
    expect(parseIscsiUrl(text, need, NO_ENV)).toEqual(base(expected));
  });

  it("reads header_digest like libiscsi", () => {
    expect(parseIscsiUrl("iscsi://h?header_digest=crc32c", PORTAL, NO_ENV).headerDigest).toBe(true);
    expect(parseIscsiUrl("iscsi://h?header_digest=none", PORTAL, NO_ENV).headerDigest).toBe(false);
  });

  it("takes the secret from the environment when the URL has a user only", () => {
    const u = `iscsi://bob@127.0.0.1/${IQN}/0`;
    expect(parseIscsiUrl(u, FULL, { ISCSI_BENCH_CHAP_SECRET: "a", LIBISCSI_CHAP_PASSWORD: "b" }).secret).toBe(
      "a",
    );
    expect(parseIscsiUrl(u, FULL, { LIBISCSI_CHAP_PASSWORD: "b" }).secret).toBe("b");
    // the URL's secret wins
    expect(
      parseIscsiUrl(`iscsi://bob%u@127.0.0.1/${IQN}/0`, FULL, { ISCSI_BENCH_CHAP_SECRET: "a" }).secret,
    ).toBe("u");
    // a secret in the environment without a user does not turn CHAP on
    expect(
      parseIscsiUrl(`iscsi://127.0.0.1/${IQN}/0`, FULL, { ISCSI_BENCH_CHAP_SECRET: "a" }).user,
    ).toBeNull();
  });

  it("takes user and secret from libiscsi's variables together", () => {
    const u = parseIscsiUrl("iscsi://h", PORTAL, {
      LIBISCSI_CHAP_USERNAME: "eve",
      LIBISCSI_CHAP_PASSWORD: "pw",
    });
    expect([u.user, u.secret]).toEqual(["eve", "pw"]);
    expect(parseIscsiUrl("iscsi://h", PORTAL, { LIBISCSI_CHAP_USERNAME: "eve" }).user).toBeNull();
  });

  it("takes the target secret from LIBISCSI_CHAP_TARGET_PASSWORD", () => {
    const u = parseIscsiUrl(`iscsi://bob%pw@h/${IQN}/0?target_user=tgt`, FULL, {
      LIBISCSI_CHAP_TARGET_PASSWORD: "tpw",
    });
    expect([u.targetUser, u.targetSecret]).toEqual(["tgt", "tpw"]);
  });
});

describe("parseIscsiUrl: errors", () => {
  it.each<[string, { target: boolean; lun: boolean }, string]>([
    ["127.0.0.1/iqn/0", FULL, "iscsi URL: scheme: must start with iscsi://"],
    [`http://127.0.0.1/${IQN}/0`, FULL, "iscsi URL: scheme: must be iscsi:// (got http://)"],
    [`iscsi:///${IQN}/0`, FULL, "iscsi URL: host: missing"],
    [`iscsi://:3260/${IQN}/0`, FULL, "iscsi URL: host: missing"],
    [`iscsi://bad_host/${IQN}/0`, FULL, 'iscsi URL: host: not a host name or address "bad_host"'],
    [`iscsi://::1/${IQN}/0`, FULL, "iscsi URL: host: an IPv6 address must be written in brackets"],
    [`iscsi://[::1/${IQN}/0`, FULL, "iscsi URL: host: IPv6 address misses ']'"],
    [`iscsi://[::g]/${IQN}/0`, FULL, 'iscsi URL: host: not an IPv6 address "::g"'],
    [`iscsi://[::1]x/${IQN}/0`, FULL, "iscsi URL: host: expected ':' after the IPv6 address"],
    [`iscsi://[fe80::1%25eth0]/${IQN}/0`, FULL, "iscsi URL: host: IPv6 zone identifiers are not supported"],
    [`iscsi://h:0/${IQN}/0`, FULL, "iscsi URL: port: must be 1..65535 (got 0)"],
    [`iscsi://h:65536/${IQN}/0`, FULL, "iscsi URL: port: must be 1..65535 (got 65536)"],
    [`iscsi://h:/${IQN}/0`, FULL, "iscsi URL: port: must be a number 1..65535"],
    [`iscsi://h:32a/${IQN}/0`, FULL, 'iscsi URL: port: must be a number 1..65535 "32a"'],
    ["iscsi://h", FULL, "iscsi URL: target name: missing"],
    ["iscsi://h/", { target: true, lun: false }, "iscsi URL: target name: missing"],
    [`iscsi://h/${IQN}`, FULL, "iscsi URL: LUN: missing"],
    [`iscsi://h/${IQN}/`, FULL, "iscsi URL: LUN: missing"],
    ["iscsi://h/target1/0", FULL, 'iscsi URL: target name: "target1" must start with iqn., eui. or naa.'],
    ["iscsi://h/iqn.2001-04.com.Example:a/0", FULL, 'iscsi URL: target name: "iqn.2001-04.com.Example:a"'],
    ["iscsi://h/iqn%zz/0", FULL, "iscsi URL: target name: bad %-encoding"],
    [`iscsi://h/${IQN}/16384`, FULL, 'iscsi URL: LUN: must be an integer 0..16383 "16384"'],
    [`iscsi://h/${IQN}/-1`, FULL, 'iscsi URL: LUN: must be an integer 0..16383 "-1"'],
    [`iscsi://h/${IQN}/1.5`, FULL, "iscsi URL: LUN: must be an integer 0..16383"],
    [`iscsi://h/${IQN}/x`, FULL, "iscsi URL: LUN: must be an integer 0..16383"],
    [`iscsi://h/${IQN}/0/extra`, FULL, "iscsi URL: path: unexpected part after /<target>/<lun>"],
    [`iscsi://h/${IQN}/0?foo=1`, FULL, 'iscsi URL: query: unknown argument "foo"'],
    [`iscsi://h/${IQN}/0?header_digest=yes`, FULL, "iscsi URL: query: header_digest must be crc32c or none"],
    [`iscsi://@h/${IQN}/0`, FULL, "iscsi URL: user: empty before '@'"],
    [`iscsi://bob%@h/${IQN}/0`, FULL, "iscsi URL: secret: empty after '%'"],
    [`iscsi://bob@h/${IQN}/0`, FULL, "iscsi URL: secret: user given but no CHAP secret"],
    [
      `iscsi://bob%x@h/${IQN}/0?target_password=y`,
      FULL,
      "iscsi URL: query: target_password needs target_user",
    ],
    [
      `iscsi://bob%x@h/${IQN}/0?target_user=t`,
      FULL,
      "iscsi URL: query: target_user given but no target secret",
    ],
    [
      `iscsi://h/${IQN}/0?target_user=t&target_password=y`,
      FULL,
      "iscsi URL: query: mutual CHAP (target_user) needs a user",
    ],
  ])("%s", (text, need, message) => {
    expect(inputError(() => parseIscsiUrl(text, need, NO_ENV)).message).toContain(message);
  });

  it("never echoes a secret in any error message", () => {
    const bad = [
      `iscsi://bob%${SECRET}@bad_host/${IQN}/0`,
      `iscsi://bob%${SECRET}@h:99999/${IQN}/0`,
      `iscsi://bob%${SECRET}@h/target1/0`,
      `iscsi://bob%${SECRET}@h/${IQN}/x`,
      `iscsi://bob%${SECRET}@h/${IQN}/0/extra`,
      `iscsi://bob%${SECRET}@h/${IQN}/0?target_password=${SECRET}`,
      `iscsi://bob%${SECRET}@h/${IQN}/0?target_user=t&target_password=${SECRET}&target_password=${SECRET}`,
      `iscsi://bob%${SECRET}@h/${IQN}/0?${SECRET}=1`,
      `iscsi://bob%${SECRET}@h/${IQN}/0?header_digest=${SECRET}`,
      `iscsi://bob%${SECRET}@[::zz]/${IQN}/0`,
      `iscsi://bob%${SECRET}@h/${IQN}`,
      `http://bob%${SECRET}@h/${IQN}/0`,
      `iscsi://bob%${SECRET}/h/${IQN}/0`, // no '@': the "secret" lands in the host
      `iscsi://bob%S3cr?t@h/${IQN}/0`, // '?' inside the secret
      `iscsi://h/${IQN}/0?target_user=t&target_password=${SECRET}`,
    ];
    for (const text of bad) {
      const err = inputError(() => parseIscsiUrl(text, FULL, NO_ENV));
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain("S3cr");
      expect(err.message.startsWith("iscsi URL: ")).toBe(true);
    }
    // secrets from the environment neither
    const err = inputError(() =>
      parseIscsiUrl(`iscsi://bob@h/${IQN}/x`, FULL, { ISCSI_BENCH_CHAP_SECRET: SECRET }),
    );
    expect(err.message).not.toContain(SECRET);
  });
});

describe("formatIscsiUrl", () => {
  it("prints user but never secrets", () => {
    const u = base({
      user: "bob",
      secret: SECRET,
      targetUser: "tgt",
      targetSecret: `${SECRET}2`,
      targetName: IQN,
      lun: 2,
    });
    const s = formatIscsiUrl(u);
    expect(s).toBe(`iscsi://bob@127.0.0.1:3260/${IQN}/2?target_user=tgt`);
    expect(s).not.toContain(SECRET);
  });

  it("brackets IPv6 and round-trips", () => {
    const u = base({ host: "fe80::1", port: 3261, targetName: IQN, lun: 0 });
    expect(formatIscsiUrl(u)).toBe(`iscsi://[fe80::1]:3261/${IQN}/0`);
    expect(parseIscsiUrl(formatIscsiUrl(u), FULL, NO_ENV)).toEqual(u);
    expect(formatIscsiUrl(base({}))).toBe("iscsi://127.0.0.1:3260");
    expect(formatIscsiUrl(base({ targetName: IQN }))).toBe(`iscsi://127.0.0.1:3260/${IQN}`);
  });
});

describe("redactUrl", () => {
  it.each([
    [`run iscsi://bob%${SECRET}@h/${IQN}/0 now`, `run iscsi://bob%***@h/${IQN}/0 now`],
    [`iscsi://bob:${SECRET}@[::1]:3260/${IQN}/0`, `iscsi://bob%***@[::1]:3260/${IQN}/0`],
    [`iscsi://bob%p@ss@h/${IQN}/0`, `iscsi://bob%***@h/${IQN}/0`],
    [`x ?target_user=t&target_password=${SECRET}&y=1`, "x ?target_user=t&target_password=***&y=1"],
    [`cannot reach "bob%${SECRET}@h"`, `cannot reach "bob%***@h"`],
    [`ISCSI_BENCH_CHAP_SECRET=${SECRET} iscsi-bench`, "ISCSI_BENCH_CHAP_SECRET=*** iscsi-bench"],
  ])("%s", (text, expected) => {
    expect(redactUrl(text)).toBe(expected);
    expect(redactUrl(text)).not.toContain(SECRET);
  });

  it("hides both secrets of a mutual CHAP URL", () => {
    const s = redactUrl(`iscsi://bob%${SECRET}@h/${IQN}/0?target_user=t&target_password=${SECRET}Z`);
    expect(s).not.toContain(SECRET);
  });

  it("leaves text without secrets alone", () => {
    for (const text of [
      `iscsi://h:3260/${IQN}/0`,
      `iscsi://bob@h:3260/${IQN}/0`,
      "login failed: authentication failed",
      "50% done, mail admin@example.com",
    ]) {
      expect(redactUrl(text)).toBe(text);
    }
  });
});
