/** Pure pieces of the initiator: serial arithmetic, TargetAddress/SendTargets parsing, login status messages, CLI error policy. */
import { describe, expect, it } from "vitest";
import { errorLine, exitCodeFor } from "../../src/commands/exit.js";
import { InputError } from "../../src/common/errors.js";
import { parseSendTargets } from "../../src/initiator/discovery.js";
import { LoginError, loginStatusMessage, SessionError } from "../../src/initiator/errors.js";
import { parseTargetAddress } from "../../src/initiator/login.js";
import { serialGt, serialLe, serialLt } from "../../src/initiator/serial.js";
import { ProtocolError } from "../../src/iscsi/errors.js";

describe("serial number arithmetic (RFC 1982)", () => {
  it("compares across the 2^32 wrap", () => {
    expect(serialLt(0xffffffff, 0)).toBe(true);
    expect(serialGt(0, 0xffffffff)).toBe(true);
    expect(serialLe(5, 5)).toBe(true);
    expect(serialLt(5, 5)).toBe(false);
    expect(serialLt(0x7ffffff0, 0x80000001)).toBe(true);
    expect(serialLe(3, 2)).toBe(false);
  });
});

describe("TargetAddress and SendTargets", () => {
  it("parses IPv4, host names, IPv6 in brackets, missing port and tpgt", () => {
    expect(parseTargetAddress("10.0.0.1:3261,2")).toEqual({ host: "10.0.0.1", port: 3261, tpgt: 2 });
    expect(parseTargetAddress("[fe80::1]:3260,1")).toEqual({ host: "fe80::1", port: 3260, tpgt: 1 });
    expect(parseTargetAddress("[::1]")).toEqual({ host: "::1", port: 3260, tpgt: null });
    expect(parseTargetAddress("san.example.com,7")).toEqual({ host: "san.example.com", port: 3260, tpgt: 7 });
    expect(() => parseTargetAddress("host:99999,1")).toThrow(ProtocolError);
    expect(() => parseTargetAddress("[::1:3260,1")).toThrow(/unterminated/);
  });

  it("collects every portal of every target, and uses the discovery portal when none is listed", () => {
    const targets = parseSendTargets(
      [
        ["TargetName", "iqn.2026-11.a:one"],
        ["TargetAddress", "192.168.1.5:3260,1"],
        ["TargetAddress", "[2001:db8::5]:3262,2"],
        ["TargetName", "iqn.2026-11.a:two"],
      ],
      { host: "127.0.0.1", port: 3270, tpgt: 1 },
    );
    expect(targets).toEqual([
      {
        name: "iqn.2026-11.a:one",
        portals: [
          { host: "192.168.1.5", port: 3260, tpgt: 1 },
          { host: "2001:db8::5", port: 3262, tpgt: 2 },
        ],
      },
      { name: "iqn.2026-11.a:two", portals: [{ host: "127.0.0.1", port: 3270, tpgt: 1 }] },
    ]);
  });
});

describe("login status messages", () => {
  it("maps each RFC 7143 status to a plain message", () => {
    expect(loginStatusMessage(2, 1)).toBe("authentication failed");
    expect(loginStatusMessage(2, 2)).toMatch(/not authorized/);
    expect(loginStatusMessage(2, 3)).toBe("target not found");
    expect(loginStatusMessage(2, 4)).toBe("target removed");
    expect(loginStatusMessage(2, 6)).toBe("too many connections");
    expect(loginStatusMessage(3, 1)).toBe("target service unavailable");
    expect(loginStatusMessage(3, 2)).toBe("target out of resources");
    expect(loginStatusMessage(2, 0x42)).toBe(
      "login refused by the target (initiator error) (status class 0x02, detail 0x42)",
    );
    const e = new LoginError(2, 3);
    expect(e.message).toBe("target not found");
    expect(e.statusClass).toBe(2);
  });
});

describe("CLI error policy", () => {
  it("exits 2 for bad input and 1 for runtime failures, with one line", () => {
    expect(exitCodeFor(new InputError("URL: bad port"))).toBe(2);
    expect(exitCodeFor(new LoginError(2, 1))).toBe(1);
    expect(exitCodeFor(new SessionError("x"))).toBe(1);
    expect(exitCodeFor(new Error("x"))).toBe(1);
    expect(errorLine(new Error("two\n  lines"))).toBe("two lines");
    expect(errorLine(new Error("cannot reach iscsi://bob%hunter2@10.0.0.1/iqn.2026-11.a:b/0"))).not.toContain(
      "hunter2",
    );
  });
});
