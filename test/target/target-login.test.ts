/**
 * TargetLogin on its own: the security stage (CHAP per RFC 7143 12.1.3 / RFC 1994, responses
 * computed here with node:crypto), reflection, ACL, target name, session types, stages.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_PARAMS } from "../../src/iscsi/params.js";
import { type LoginRequest, Opcode } from "../../src/iscsi/pdu.js";
import { createAcl } from "../../src/target/acl.js";
import { TARGET_POLICY } from "../../src/target/options.js";
import { type LoginConfig, type LoginStep, TargetLogin } from "../../src/target/target-login.js";

const IQN = "iqn.2026-11.io.iscsi-bench:t";
const INI = "iqn.2026-11.io.iscsi-bench:i";

function text(pairs: Record<string, string>): Buffer {
  return Buffer.from(
    Object.entries(pairs)
      .map(([k, v]) => `${k}=${v}\0`)
      .join(""),
    "utf8",
  );
}

function parse(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of data.toString("utf8").split("\0")) {
    if (kv === "") continue;
    const i = kv.indexOf("=");
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function req(csg: number, nsg: number, transit: boolean, pairs: Record<string, string>): LoginRequest {
  return {
    opcode: Opcode.LoginRequest,
    transit,
    cont: false,
    csg,
    nsg,
    versionMax: 0,
    versionMin: 0,
    isid: 0x800000000001,
    tsih: 0,
    itt: 7,
    cid: 1,
    cmdSN: 1,
    expStatSN: 0,
    data: text(pairs),
  };
}

function login(over: Partial<LoginConfig> = {}): TargetLogin {
  return new TargetLogin({
    targetName: IQN,
    chap: { user: "alice", secret: "alice-secret-12" },
    mutualChap: { user: "tgt", secret: "target-secret-12" },
    acl: createAcl([]),
    policy: { ...TARGET_POLICY },
    portalGroupTag: 1,
    admission: { admit: () => ({ tsih: 42 }) },
    ...over,
  });
}

const HASH: Record<number, string> = { 5: "md5", 6: "sha1", 7: "sha256", 8: "sha3-256" };

function chapR(alg: number, id: number, secret: string, challenge: Buffer): string {
  const h = createHash(HASH[alg]!);
  h.update(Buffer.of(id));
  h.update(Buffer.from(secret));
  h.update(challenge);
  return `0x${h.digest("hex")}`;
}

function status(step: LoginStep): number {
  return (step.response.statusClass << 8) | step.response.statusDetail;
}

describe("TargetLogin security stage", () => {
  for (const alg of [5, 6, 7, 8]) {
    it(`CHAP_A=${alg}: one-way and mutual authentication succeed with fresh challenges`, () => {
      const l = login();
      const s1 = l.handle(
        req(0, 1, true, {
          InitiatorName: INI,
          TargetName: IQN,
          SessionType: "Normal",
          AuthMethod: "CHAP,None",
        }),
      );
      expect(s1.kind).toBe("continue");
      expect(s1.response.transit).toBe(false); // not before authentication
      expect(parse(s1.response.data).AuthMethod).toBe("CHAP");
      expect(parse(s1.response.data).TargetPortalGroupTag).toBe("1");
      const s2 = l.handle(req(0, 1, false, { CHAP_A: `${alg},5` }));
      const kv = parse(s2.response.data);
      expect(kv.CHAP_A).toBe(String(alg));
      const challenge = Buffer.from(kv.CHAP_C!.slice(2), "hex");
      expect(challenge.length).toBeGreaterThanOrEqual(16);
      const id = Number(kv.CHAP_I);
      const myChallenge = Buffer.alloc(16, 0x3c);
      const s3 = l.handle(
        req(0, 1, true, {
          CHAP_N: "alice",
          CHAP_R: chapR(alg, id, "alice-secret-12", challenge),
          CHAP_I: "17",
          CHAP_C: `0x${myChallenge.toString("hex")}`,
        }),
      );
      expect(s3.kind).toBe("continue");
      expect(status(s3)).toBe(0);
      expect(s3.response.transit).toBe(true);
      expect(s3.response.nsg).toBe(1);
      const back = parse(s3.response.data);
      expect(back.CHAP_N).toBe("tgt");
      expect(back.CHAP_R).toBe(chapR(alg, 17, "target-secret-12", myChallenge));
      // a second login gets a different challenge
      const other = login();
      other.handle(req(0, 1, false, { InitiatorName: INI, TargetName: IQN, AuthMethod: "CHAP" }));
      const c2 = parse(other.handle(req(0, 1, false, { CHAP_A: String(alg) })).response.data).CHAP_C;
      expect(c2).not.toBe(kv.CHAP_C);
      // operational stage, then full feature phase with the TSIH from admission
      const s4 = l.handle(req(1, 3, true, { MaxBurstLength: "65536", HeaderDigest: "CRC32C,None" }));
      expect(s4.kind).toBe("complete");
      expect(s4.response.tsih).toBe(42);
      expect(parse(s4.response.data).MaxBurstLength).toBe("65536");
      expect(parse(s4.response.data).HeaderDigest).toBe("CRC32C");
    });
  }

  function upToChallenge(l: TargetLogin): { id: number; challenge: Buffer } {
    l.handle(req(0, 1, false, { InitiatorName: INI, TargetName: IQN, AuthMethod: "CHAP" }));
    const kv = parse(l.handle(req(0, 1, false, { CHAP_A: "5" })).response.data);
    return { id: Number(kv.CHAP_I), challenge: Buffer.from(kv.CHAP_C!.slice(2), "hex") };
  }

  it("refuses a wrong secret and a wrong user with authentication failure (0x0201)", () => {
    for (const [user, secret] of [
      ["alice", "not-the-secret"],
      ["mallory", "alice-secret-12"],
    ]) {
      const l = login();
      const { id, challenge } = upToChallenge(l);
      const s = l.handle(req(0, 1, true, { CHAP_N: user!, CHAP_R: chapR(5, id, secret!, challenge) }));
      expect(s.kind).toBe("fail");
      expect(status(s)).toBe(0x0201);
    }
  });

  it("refuses a mutual challenge equal to its own (reflection)", () => {
    const l = login();
    const { id, challenge } = upToChallenge(l);
    const s = l.handle(
      req(0, 1, true, {
        CHAP_N: "alice",
        CHAP_R: chapR(5, id, "alice-secret-12", challenge),
        CHAP_I: String(id),
        CHAP_C: `0x${challenge.toString("hex")}`,
      }),
    );
    expect(s.kind).toBe("fail");
    expect(status(s)).toBe(0x0201);
    expect(s.response.data.length).toBe(0); // no CHAP_R that an attacker could replay
  });

  it("requires authentication when configured, even if the initiator starts in the operational stage", () => {
    const s = login().handle(req(1, 3, true, { InitiatorName: INI, TargetName: IQN }));
    expect(status(s)).toBe(0x0201);
  });

  it("AuthMethod=None and straight to full feature without CHAP configured", () => {
    const l = login({ chap: null, mutualChap: null });
    const s = l.handle(req(0, 3, true, { InitiatorName: INI, TargetName: IQN, AuthMethod: "None" }));
    expect(s.kind).toBe("complete");
    expect(parse(s.response.data).AuthMethod).toBe("None");
  });
});

describe("TargetLogin identity checks", () => {
  const open = { chap: null, mutualChap: null } as const;

  it("unknown target name: 0x0203; missing InitiatorName: 0x0207; bad SessionType: 0x0209", () => {
    expect(status(login(open).handle(req(1, 3, true, { InitiatorName: INI, TargetName: `${IQN}x` })))).toBe(
      0x0203,
    );
    expect(status(login(open).handle(req(1, 3, true, { TargetName: IQN })))).toBe(0x0207);
    expect(status(login(open).handle(req(1, 3, true, { InitiatorName: INI, SessionType: "Other" })))).toBe(
      0x0209,
    );
  });

  it("access list: an unlisted initiator gets authorization failure (0x0202), a listed one logs in", () => {
    const acl = createAcl(["iqn.2026-11.io.iscsi-bench:I"]);
    const refused = login({ ...open, acl }).handle(
      req(1, 3, true, { InitiatorName: "iqn.2026-11.io.iscsi-bench:other", TargetName: IQN }),
    );
    expect(refused.kind).toBe("fail");
    expect(status(refused)).toBe(0x0202);
    const ok = login({ ...open, acl }).handle(req(1, 3, true, { InitiatorName: INI, TargetName: IQN }));
    expect(ok.kind).toBe("complete");
  });

  it("discovery sessions need no target name; the admission's refusal is passed on", () => {
    const d = login(open).handle(req(1, 3, true, { InitiatorName: INI, SessionType: "Discovery" }));
    expect(d.kind).toBe("complete");
    if (d.kind === "complete") expect(d.identity.sessionType).toBe("Discovery");
    const full = login({ ...open, admission: { admit: () => ({ status: 0x0206 }) } }).handle(
      req(1, 3, true, { InitiatorName: INI, TargetName: IQN }),
    );
    expect(status(full)).toBe(0x0206);
  });

  it("unsupported version (0x0205) and out-of-order stages (0x0200)", () => {
    const r = req(1, 3, true, { InitiatorName: INI, TargetName: IQN });
    r.versionMin = 2;
    r.versionMax = 3;
    expect(status(login(open).handle(r))).toBe(0x0205);
    const l = login(open);
    l.handle(req(1, 1, false, { InitiatorName: INI, TargetName: IQN }));
    expect(status(l.handle(req(0, 1, true, {})))).toBe(0x0200);
  });

  it("C bit: text continued over two PDUs is answered once it is complete", () => {
    const l = login(open);
    const all = text({ InitiatorName: INI, TargetName: IQN, MaxBurstLength: "32768" });
    const first = { ...req(1, 3, false, {}), cont: true, data: all.subarray(0, 20) };
    const s1 = l.handle(first);
    expect(s1.kind).toBe("continue");
    expect(s1.response.data.length).toBe(0);
    const s2 = l.handle({ ...req(1, 3, true, {}), data: all.subarray(20) });
    expect(s2.kind).toBe("complete");
    expect(parse(s2.response.data).MaxBurstLength).toBe("32768");
    if (s2.kind === "complete") expect(s2.params.maxBurstLength).toBe(32768);
    expect(DEFAULT_PARAMS.maxBurstLength).toBe(262144);
  });
});
