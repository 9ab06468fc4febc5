import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { ProtocolError } from "../../src/iscsi/errors.js";
import {
  answerOffer,
  answerOffers,
  applyParam,
  finalizeParams,
  IRRELEVANT,
  isIrrelevant,
  KEYS,
  type NegotiationContext,
  NOT_UNDERSTOOD,
  operationalOffer,
  parseNumeric,
  REJECT,
  resolveAnswer,
  resultWithoutAnswer,
} from "../../src/iscsi/negotiate.js";
import { DEFAULT_PARAMS, type OperationalParams } from "../../src/iscsi/params.js";
import type { TextPairs } from "../../src/iscsi/text.js";

const params = (over: Partial<OperationalParams> = {}): OperationalParams => ({ ...DEFAULT_PARAMS, ...over });
const NORMAL: NegotiationContext = { sessionType: "Normal", initialR2T: true, immediateData: true };
const DISCOVERY: NegotiationContext = { sessionType: "Discovery" };

describe("KEYS", () => {
  it.each<[string, string, [number, number] | undefined, string, boolean]>([
    // name, kind, range, default, irrelevant in discovery
    ["HeaderDigest", "list", undefined, "None", false],
    ["DataDigest", "list", undefined, "None", false],
    ["MaxConnections", "min", [1, 65535], "1", true],
    ["SendTargets", "declarative", undefined, "", false],
    ["TargetName", "declarative", undefined, "", false],
    ["InitiatorName", "declarative", undefined, "", false],
    ["TargetAlias", "declarative", undefined, "", false],
    ["InitiatorAlias", "declarative", undefined, "", false],
    ["TargetAddress", "declarative", undefined, "", false],
    ["TargetPortalGroupTag", "declarative", [0, 65535], "", false],
    ["InitialR2T", "or", undefined, "Yes", true],
    ["ImmediateData", "and", undefined, "Yes", true],
    ["MaxRecvDataSegmentLength", "declarative", [512, 16777215], "8192", false],
    ["MaxBurstLength", "min", [512, 16777215], "262144", true],
    ["FirstBurstLength", "min", [512, 16777215], "65536", true],
    ["DefaultTime2Wait", "max", [0, 3600], "2", false],
    ["DefaultTime2Retain", "min", [0, 3600], "20", false],
    ["MaxOutstandingR2T", "min", [1, 65535], "1", true],
    ["DataPDUInOrder", "or", undefined, "Yes", true],
    ["DataSequenceInOrder", "or", undefined, "Yes", true],
    ["ErrorRecoveryLevel", "min", [0, 2], "0", false],
    ["SessionType", "declarative", undefined, "Normal", false],
    ["TaskReporting", "list", undefined, "RFC3720", true],
    ["iSCSIProtocolLevel", "min", [0, 31], "1", true],
    ["OFMarker", "and", undefined, "No", false],
    ["IFMarker", "and", undefined, "No", false],
    ["OFMarkInt", "declarative", [1, 65535], "2048", false],
    ["IFMarkInt", "declarative", [1, 65535], "2048", false],
    ["AuthMethod", "list", undefined, "None", false],
  ])("%s is %s", (name, kind, range, defaultValue, disc) => {
    const d = KEYS[name]!;
    expect(d.name).toBe(name);
    expect(d.kind).toBe(kind);
    expect(d.range).toEqual(range);
    expect(d.defaultValue).toBe(defaultValue);
    expect(d.irrelevantInDiscovery).toBe(disc);
  });

  it("marks the leading-only keys", () => {
    const lo = Object.values(KEYS)
      .filter((d) => d.leadingOnly)
      .map((d) => d.name)
      .sort();
    expect(lo).toEqual(
      [
        "MaxConnections",
        "InitialR2T",
        "ImmediateData",
        "MaxBurstLength",
        "FirstBurstLength",
        "DefaultTime2Wait",
        "DefaultTime2Retain",
        "MaxOutstandingR2T",
        "DataPDUInOrder",
        "DataSequenceInOrder",
        "ErrorRecoveryLevel",
        "SessionType",
        "TaskReporting",
        "iSCSIProtocolLevel",
      ].sort(),
    );
  });
});

describe("parseNumeric", () => {
  it.each<[string, number | null]>([
    ["0", 0],
    ["8192", 8192],
    ["0x2000", 8192],
    ["0X00ff", 255],
    ["16777215", 16777215],
    ["08192", null],
    ["", null],
    ["-1", null],
    ["1e3", null],
    ["12 ", null],
    ["0x", null],
    ["0b1010", null],
    ["99999999999999999999", Number.POSITIVE_INFINITY],
  ])("%j -> %s", (text, n) => {
    expect(parseNumeric(text)).toBe(n);
  });
});

describe("answerOffer (responder)", () => {
  it.each<[string, string, string | undefined, string]>([
    // list: first offered value we support, in the originator's order
    ["HeaderDigest", "CRC32C,None", "CRC32C,None", "CRC32C"],
    ["HeaderDigest", "None,CRC32C", "CRC32C,None", "None"],
    ["HeaderDigest", "CRC32C,None", "None", "None"],
    ["HeaderDigest", "CRC32C", "None", REJECT],
    ["HeaderDigest", "None", "CRC32C", REJECT],
    ["HeaderDigest", "CRC32C", undefined, "CRC32C"],
    ["DataDigest", "Foo,CRC32C", undefined, "CRC32C"], // values not understood are ignored
    ["DataDigest", "Foo,Bar", undefined, REJECT],
    ["DataDigest", "CRC32C,,None", undefined, REJECT], // malformed list
    ["DataDigest", "Reject", undefined, REJECT],
    ["TaskReporting", "FastAbort,RFC3720", undefined, "RFC3720"],
    ["TaskReporting", "FastAbort", undefined, REJECT],
    ["AuthMethod", "SRP,CHAP,None", undefined, "CHAP"],
    ["AuthMethod", "None", "CHAP", REJECT],
    ["CHAP_A", "15,7,5", undefined, "7"],
    ["CHAP_A", "5", "5", "5"],
    // AND: Yes only if both say Yes
    ["ImmediateData", "Yes", "Yes", "Yes"],
    ["ImmediateData", "Yes", "No", "No"],
    ["ImmediateData", "No", "Yes", "No"],
    ["ImmediateData", "No", "No", "No"],
    ["ImmediateData", "Yes", undefined, "Yes"],
    ["ImmediateData", "yes", "Yes", REJECT],
    ["ImmediateData", "", "Yes", REJECT],
    // OR: Yes if either says Yes
    ["InitialR2T", "No", "No", "No"],
    ["InitialR2T", "No", "Yes", "Yes"],
    ["InitialR2T", "Yes", "No", "Yes"],
    ["DataPDUInOrder", "No", undefined, "Yes"], // we only support in-order data
    ["DataSequenceInOrder", "No", "No", "No"],
    ["InitialR2T", "Maybe", "No", REJECT],
    // min
    ["MaxBurstLength", "1048576", "262144", "262144"],
    ["MaxBurstLength", "65536", "262144", "65536"],
    ["MaxBurstLength", "0x100000", "262144", "262144"],
    ["MaxBurstLength", "1048576", undefined, "1048576"],
    ["MaxBurstLength", "511", "262144", REJECT],
    ["MaxBurstLength", "16777216", "262144", REJECT],
    ["MaxBurstLength", "abc", "262144", REJECT],
    ["MaxBurstLength", "512~1024", "262144", REJECT],
    ["FirstBurstLength", "65536", "16384", "16384"],
    ["MaxOutstandingR2T", "8", "4", "4"],
    ["MaxOutstandingR2T", "0", "4", REJECT],
    ["DefaultTime2Retain", "0", "20", "0"],
    ["DefaultTime2Retain", "3601", "20", REJECT],
    ["ErrorRecoveryLevel", "2", undefined, "0"],
    ["ErrorRecoveryLevel", "1", "1", "1"],
    ["ErrorRecoveryLevel", "3", "1", REJECT],
    ["MaxConnections", "8", undefined, "1"],
    ["iSCSIProtocolLevel", "2", undefined, "1"],
    ["iSCSIProtocolLevel", "0", undefined, "0"],
    // max
    ["DefaultTime2Wait", "0", "2", "2"],
    ["DefaultTime2Wait", "10", "2", "10"],
    ["DefaultTime2Wait", "3601", "2", REJECT],
    // declarative: nothing to answer unless we declare our own value
    ["MaxRecvDataSegmentLength", "65536", undefined, ""],
    ["MaxRecvDataSegmentLength", "65536", "262144", "262144"],
    ["MaxRecvDataSegmentLength", "100", undefined, REJECT],
    ["SessionType", "Discovery", undefined, ""],
    ["SessionType", "Other", undefined, REJECT],
    ["InitiatorName", "iqn.2026-11.io.iscsi-bench:h", undefined, ""],
    // obsolete RFC 3720 keys (RFC 7143 13.25)
    ["OFMarker", "No", undefined, REJECT],
    ["IFMarker", "Yes", undefined, REJECT],
    ["OFMarkInt", "2048~8192", undefined, REJECT],
    ["IFMarkInt", "2048", undefined, REJECT],
    // unknown and vendor keys
    ["X-com.example.feature", "Yes", undefined, NOT_UNDERSTOOD],
    ["X#org.example.thing", "1", undefined, NOT_UNDERSTOOD],
    ["NoSuchKey", "1", undefined, NOT_UNDERSTOOD],
    ["headerdigest", "None", undefined, NOT_UNDERSTOOD], // keys are case-sensitive
  ])("%s=%s (local %s) -> %s", (key, offered, local, expected) => {
    expect(answerOffer(key, offered, local, NORMAL)).toBe(expected);
  });

  it("answers Irrelevant where the context makes a key irrelevant", () => {
    for (const key of [
      "MaxConnections",
      "InitialR2T",
      "ImmediateData",
      "MaxBurstLength",
      "FirstBurstLength",
      "MaxOutstandingR2T",
      "DataPDUInOrder",
      "DataSequenceInOrder",
      "TaskReporting",
    ]) {
      expect(answerOffer(key, KEYS[key]!.defaultValue, undefined, DISCOVERY)).toBe(IRRELEVANT);
    }
    // still negotiated in a discovery session
    expect(answerOffer("HeaderDigest", "CRC32C,None", "CRC32C,None", DISCOVERY)).toBe("CRC32C");
    expect(answerOffer("DefaultTime2Wait", "5", "2", DISCOVERY)).toBe("5");
    // RFC 7143 13.14: FirstBurstLength is irrelevant when InitialR2T=Yes and ImmediateData=No
    const noUnsolicited = { sessionType: "Normal", initialR2T: true, immediateData: false } as const;
    expect(isIrrelevant("FirstBurstLength", noUnsolicited)).toBe(true);
    expect(answerOffer("FirstBurstLength", "65536", "65536", noUnsolicited)).toBe(IRRELEVANT);
    expect(answerOffer("FirstBurstLength", "65536", "65536", { ...noUnsolicited, initialR2T: false })).toBe(
      "65536",
    );
    expect(answerOffer("FirstBurstLength", "65536", "65536", { ...noUnsolicited, immediateData: true })).toBe(
      "65536",
    );
  });

  it("treats a bad local preference as a programming error", () => {
    expect(() => answerOffer("MaxBurstLength", "4096", "lots")).toThrow(RangeError);
    expect(() => answerOffer("ImmediateData", "Yes", "true")).toThrow(RangeError);
  });
});

describe("resolveAnswer (originator)", () => {
  it.each<[string, string, string, string]>([
    ["HeaderDigest", "CRC32C,None", "CRC32C", "CRC32C"],
    ["HeaderDigest", "CRC32C,None", "None", "None"],
    ["TaskReporting", "ResponseFence,RFC3720", "RFC3720", "RFC3720"],
    ["ImmediateData", "Yes", "No", "No"],
    ["ImmediateData", "Yes", "Yes", "Yes"],
    ["ImmediateData", "No", "No", "No"],
    ["InitialR2T", "No", "Yes", "Yes"],
    ["InitialR2T", "No", "No", "No"],
    ["InitialR2T", "Yes", "Yes", "Yes"],
    ["MaxBurstLength", "1048576", "262144", "262144"],
    ["MaxBurstLength", "1048576", "1048576", "1048576"],
    ["MaxBurstLength", "1048576", "0x40000", "262144"],
    ["ErrorRecoveryLevel", "2", "0", "0"],
    ["DefaultTime2Wait", "2", "20", "20"],
    ["DefaultTime2Wait", "2", "2", "2"],
    ["MaxRecvDataSegmentLength", "65536", "262144", "262144"],
    ["TargetPortalGroupTag", "", "1", "1"],
    // reserved answers leave the RFC default
    ["MaxBurstLength", "1048576", REJECT, "262144"],
    ["HeaderDigest", "CRC32C", REJECT, "None"],
    ["FirstBurstLength", "65536", IRRELEVANT, "65536"],
    ["TaskReporting", "FastAbort", NOT_UNDERSTOOD, "RFC3720"],
    // keys we do not know: the answer as it is
    ["X-com.example.k", "1", "2", "2"],
  ])("%s: offered %s, answer %s -> %s", (key, offered, answer, expected) => {
    expect(resolveAnswer(key, offered, answer)).toBe(expected);
  });

  it.each<[string, string, string, string]>([
    [
      "HeaderDigest",
      "None",
      "CRC32C",
      'HeaderDigest: answer "CRC32C" is not one of the offered values "None"',
    ],
    ["HeaderDigest", "CRC32C,None", "CRC32C,None", "is not one of the offered values"],
    ["DataDigest", "CRC32C", "crc32c", "is not one of the offered values"],
    [
      "ImmediateData",
      "No",
      "Yes",
      "ImmediateData: answer Yes to an offer of No (the result function is AND)",
    ],
    ["InitialR2T", "Yes", "No", "InitialR2T: answer No to an offer of Yes (the result function is OR)"],
    ["DataSequenceInOrder", "Yes", "Maybe", 'DataSequenceInOrder: answer "Maybe" is not Yes or No'],
    ["MaxBurstLength", "262144", "1048576", "MaxBurstLength: answer 1048576 is above the offered 262144"],
    ["MaxBurstLength", "262144", "256", "MaxBurstLength: answer 256 is outside 512..16777215"],
    ["MaxBurstLength", "262144", "lots", 'MaxBurstLength: answer "lots" is not a number'],
    ["ErrorRecoveryLevel", "0", "1", "ErrorRecoveryLevel: answer 1 is above the offered 0"],
    [
      "DefaultTime2Wait",
      "5",
      "2",
      "DefaultTime2Wait: answer 2 is below the offered 5 (the result function is maximum)",
    ],
    [
      "MaxRecvDataSegmentLength",
      "8192",
      "100",
      'MaxRecvDataSegmentLength: value "100" is not a number in 512..16777215',
    ],
    ["SessionType", "Normal", "Weird", 'SessionType: value "Weird" is not one of Discovery, Normal'],
  ])("%s: offered %s, answer %s is illegal", (key, offered, answer, message) => {
    try {
      resolveAnswer(key, offered, answer);
      throw new Error("no error");
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).kind).toBe("negotiation");
      expect((err as Error).message).toContain(message);
    }
  });

  it("resultWithoutAnswer follows RFC 7143 6.2.2", () => {
    expect(resultWithoutAnswer("ImmediateData", "No")).toBe("No");
    expect(resultWithoutAnswer("ImmediateData", "Yes")).toBeNull();
    expect(resultWithoutAnswer("InitialR2T", "Yes")).toBe("Yes");
    expect(resultWithoutAnswer("InitialR2T", "No")).toBeNull();
    expect(resultWithoutAnswer("MaxBurstLength", "512")).toBeNull();
    expect(resultWithoutAnswer("MaxRecvDataSegmentLength", "8192")).toBe("8192");
  });
});

describe("applyParam", () => {
  it.each<[string, string, "local" | "peer" | undefined, Partial<OperationalParams>]>([
    ["HeaderDigest", "CRC32C", undefined, { headerDigest: true }],
    ["DataDigest", "CRC32C", undefined, { dataDigest: true }],
    ["MaxRecvDataSegmentLength", "65536", "local", { maxRecvDataSegmentLength: 65536 }],
    ["MaxRecvDataSegmentLength", "0x10000", "peer", { peerMaxRecvDataSegmentLength: 65536 }],
    ["MaxRecvDataSegmentLength", "32768", undefined, { peerMaxRecvDataSegmentLength: 32768 }],
    ["MaxBurstLength", "1048576", undefined, { maxBurstLength: 1048576 }],
    ["FirstBurstLength", "16384", undefined, { firstBurstLength: 16384 }],
    ["InitialR2T", "No", undefined, { initialR2T: false }],
    ["ImmediateData", "No", undefined, { immediateData: false }],
    ["MaxOutstandingR2T", "16", undefined, { maxOutstandingR2T: 16 }],
    ["DataPDUInOrder", "No", undefined, { dataPDUInOrder: false }],
    ["DataSequenceInOrder", "No", undefined, { dataSequenceInOrder: false }],
    ["DefaultTime2Wait", "0", undefined, { defaultTime2Wait: 0 }],
    ["DefaultTime2Retain", "0", undefined, { defaultTime2Retain: 0 }],
    ["ErrorRecoveryLevel", "1", undefined, { errorRecoveryLevel: 1 }],
    ["MaxConnections", "4", undefined, { maxConnections: 4 }],
    ["MaxBurstLength", REJECT, undefined, {}],
    ["HeaderDigest", IRRELEVANT, undefined, {}],
    ["TargetAlias", "array-1", undefined, {}],
    ["X-foo", "1", undefined, {}],
  ])("%s=%s (%s)", (key, value, side, changed) => {
    const p = params();
    applyParam(p, key, value, side);
    expect(p).toEqual(params(changed));
  });

  it("rejects malformed or out-of-range values", () => {
    expect(() => applyParam(params(), "HeaderDigest", "CRC32C,None")).toThrow(
      /HeaderDigest: "CRC32C,None" is not CRC32C or None/,
    );
    expect(() => applyParam(params(), "ImmediateData", "yes")).toThrow(ProtocolError);
    expect(() => applyParam(params(), "MaxBurstLength", "100")).toThrow(
      /MaxBurstLength: 100 is outside 512..16777215/,
    );
    expect(() => applyParam(params(), "MaxRecvDataSegmentLength", "x", "local")).toThrow(/not a number/);
  });

  it("keeps FirstBurstLength <= MaxBurstLength (RFC 7143 13.14)", () => {
    const p = params({ firstBurstLength: 65536 });
    applyParam(p, "MaxBurstLength", "16384");
    expect(p.firstBurstLength).toBe(16384);
    applyParam(p, "FirstBurstLength", "65536");
    expect(p.firstBurstLength).toBe(16384);
    const q = params({ maxBurstLength: 8192, firstBurstLength: 65536 });
    finalizeParams(q);
    expect(q.firstBurstLength).toBe(8192);
  });
});

describe("operationalOffer", () => {
  it("offers every operational key in RFC text form", () => {
    const want = params({
      headerDigest: true,
      maxRecvDataSegmentLength: 262144,
      maxBurstLength: 1048576,
      firstBurstLength: 2097152,
      initialR2T: false,
      maxOutstandingR2T: 8,
    });
    expect(operationalOffer(want)).toEqual([
      ["HeaderDigest", "CRC32C,None"],
      ["DataDigest", "None"],
      ["MaxRecvDataSegmentLength", "262144"],
      ["InitialR2T", "No"],
      ["ImmediateData", "Yes"],
      ["MaxBurstLength", "1048576"],
      ["FirstBurstLength", "1048576"], // clamped to MaxBurstLength
      ["DefaultTime2Wait", "2"],
      ["DefaultTime2Retain", "20"],
      ["MaxOutstandingR2T", "8"],
      ["DataPDUInOrder", "Yes"],
      ["DataSequenceInOrder", "Yes"],
      ["ErrorRecoveryLevel", "0"],
      ["MaxConnections", "1"],
    ]);
  });

  it("leaves FirstBurstLength out when it is irrelevant, and offers little for discovery", () => {
    const keys = operationalOffer(params({ initialR2T: true, immediateData: false })).map(([k]) => k);
    expect(keys).not.toContain("FirstBurstLength");
    expect(operationalOffer(params({ dataDigest: true }), "Discovery")).toEqual([
      ["HeaderDigest", "None"],
      ["DataDigest", "CRC32C,None"],
      ["MaxRecvDataSegmentLength", "8192"],
    ]);
  });

  it("refuses wanted values out of range", () => {
    expect(() => operationalOffer(params({ maxBurstLength: 100 }))).toThrow(InputError);
    expect(() => operationalOffer(params({ maxRecvDataSegmentLength: 2 ** 24 }))).toThrow(
      "MaxRecvDataSegmentLength: 16777216 is outside 512..16777215",
    );
  });
});

describe("answerOffers (target)", () => {
  const policy = params({
    headerDigest: true,
    dataDigest: false,
    maxRecvDataSegmentLength: 65536,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    initialR2T: false,
    immediateData: true,
    maxOutstandingR2T: 4,
    defaultTime2Wait: 2,
    defaultTime2Retain: 0,
  });

  it("answers each key in offer order, records the results, and declares its MaxRecvDataSegmentLength", () => {
    const offers: TextPairs = [
      ["InitiatorName", "iqn.2026-11.io.iscsi-bench:h"],
      ["SessionType", "Normal"],
      ["HeaderDigest", "CRC32C,None"],
      ["DataDigest", "CRC32C,None"],
      ["MaxRecvDataSegmentLength", "131072"],
      ["FirstBurstLength", "1048576"], // before MaxBurstLength on purpose
      ["MaxBurstLength", "1048576"],
      ["InitialR2T", "Yes"],
      ["ImmediateData", "Yes"],
      ["MaxOutstandingR2T", "16"],
      ["DefaultTime2Wait", "0"],
      ["DefaultTime2Retain", "20"],
      ["ErrorRecoveryLevel", "2"],
      ["OFMarker", "No"],
      ["X-com.example.thing", "1"],
      ["TargetAlias", "nope"],
    ];
    const p = params();
    const reply = answerOffers(offers, policy, p, "Normal");
    expect(reply).toEqual([
      ["HeaderDigest", "CRC32C"],
      ["DataDigest", "None"],
      ["FirstBurstLength", "65536"],
      ["MaxBurstLength", "262144"],
      ["InitialR2T", "Yes"],
      ["ImmediateData", "Yes"],
      ["MaxOutstandingR2T", "4"],
      ["DefaultTime2Wait", "2"],
      ["DefaultTime2Retain", "0"],
      ["ErrorRecoveryLevel", "0"],
      ["OFMarker", REJECT],
      ["X-com.example.thing", NOT_UNDERSTOOD],
      ["TargetAlias", IRRELEVANT],
      ["MaxRecvDataSegmentLength", "65536"],
    ]);
    expect(p).toEqual(
      params({
        headerDigest: true,
        dataDigest: false,
        maxRecvDataSegmentLength: 65536,
        peerMaxRecvDataSegmentLength: 131072,
        maxBurstLength: 262144,
        firstBurstLength: 65536,
        initialR2T: true,
        immediateData: true,
        maxOutstandingR2T: 4,
        defaultTime2Wait: 2,
        defaultTime2Retain: 0,
        errorRecoveryLevel: 0,
      }),
    );
  });

  it("keeps FirstBurstLength <= the negotiated MaxBurstLength", () => {
    const p = params();
    const reply = answerOffers(
      [
        ["FirstBurstLength", "262144"],
        ["MaxBurstLength", "16384"],
      ],
      params({ maxBurstLength: 1048576, firstBurstLength: 1048576 }),
      p,
      "Normal",
    );
    expect(reply.slice(0, 2)).toEqual([
      ["FirstBurstLength", "16384"],
      ["MaxBurstLength", "16384"],
    ]);
    expect(p.firstBurstLength).toBe(16384);
  });

  it("answers FirstBurstLength Irrelevant when InitialR2T=Yes and ImmediateData=No result", () => {
    const p = params();
    const reply = answerOffers(
      [
        ["FirstBurstLength", "65536"],
        ["ImmediateData", "No"],
        ["InitialR2T", "Yes"],
      ],
      policy,
      p,
      "Normal",
    );
    expect(reply).toEqual([
      ["FirstBurstLength", IRRELEVANT],
      ["ImmediateData", "No"],
      ["InitialR2T", "Yes"],
      ["MaxRecvDataSegmentLength", "65536"],
    ]);
    expect(p.immediateData).toBe(false);
  });

  it("answers session keys Irrelevant in a discovery session", () => {
    const p = params();
    const reply = answerOffers(
      [
        ["HeaderDigest", "None"],
        ["MaxBurstLength", "1048576"],
        ["ImmediateData", "No"],
        ["MaxRecvDataSegmentLength", "8192"],
      ],
      policy,
      p,
      "Discovery",
    );
    expect(reply).toEqual([
      ["HeaderDigest", "None"],
      ["MaxBurstLength", IRRELEVANT],
      ["ImmediateData", IRRELEVANT],
      ["MaxRecvDataSegmentLength", "65536"],
    ]);
    expect(p.maxBurstLength).toBe(262144);
    expect(p.immediateData).toBe(true);
  });

  it("declares MaxRecvDataSegmentLength once when given the declared set", () => {
    const declared = new Set<string>();
    const p = params();
    expect(answerOffers([["MaxRecvDataSegmentLength", "8192"]], policy, p, "Normal", declared)).toEqual([
      ["MaxRecvDataSegmentLength", "65536"],
    ]);
    expect(answerOffers([["MaxBurstLength", "8192"]], policy, p, "Normal", declared)).toEqual([
      ["MaxBurstLength", "8192"],
    ]);
    // without a declaration from either side at the default 8192 there is nothing to declare
    expect(answerOffers([["MaxBurstLength", "8192"]], params(), params(), "Normal")).toEqual([
      ["MaxBurstLength", "8192"],
    ]);
  });

  it("rejects a key offered twice and an impossible MaxRecvDataSegmentLength", () => {
    expect(() =>
      answerOffers(
        [
          ["MaxBurstLength", "512"],
          ["MaxBurstLength", "1024"],
        ],
        policy,
        params(),
        "Normal",
      ),
    ).toThrow("MaxBurstLength: offered more than once");
    expect(() => answerOffers([["MaxRecvDataSegmentLength", "12"]], policy, params(), "Normal")).toThrow(
      ProtocolError,
    );
  });
});

describe("round trip: initiator offer -> target answer -> initiator result", () => {
  const cases: Array<[string, Partial<OperationalParams>, Partial<OperationalParams>]> = [
    ["defaults on both sides", {}, {}],
    [
      "initiator wants big bursts and digests, target limits them",
      {
        headerDigest: true,
        dataDigest: true,
        maxBurstLength: 4194304,
        firstBurstLength: 1048576,
        maxRecvDataSegmentLength: 262144,
      },
      {
        headerDigest: true,
        dataDigest: false,
        maxBurstLength: 1048576,
        firstBurstLength: 262144,
        maxRecvDataSegmentLength: 65536,
      },
    ],
    [
      "no unsolicited data",
      { initialR2T: true, immediateData: false, maxOutstandingR2T: 8 },
      { initialR2T: false, immediateData: true, maxOutstandingR2T: 2 },
    ],
    [
      "unsolicited data wanted, target insists on InitialR2T",
      { initialR2T: false, immediateData: true, firstBurstLength: 131072 },
      { initialR2T: true, immediateData: false, firstBurstLength: 65536, defaultTime2Wait: 5 },
    ],
  ];

  it.each(cases)("%s", (_name, wantOver, policyOver) => {
    const want = params(wantOver);
    const policy = params(policyOver);

    // initiator builds its offer and records what it declared
    const initiator = params();
    const offer = operationalOffer(want);
    applyParam(initiator, "MaxRecvDataSegmentLength", String(want.maxRecvDataSegmentLength), "local");

    // target answers over the wire (text encode/decode is covered elsewhere)
    const target = params();
    const reply = answerOffers(offer, policy, target, "Normal");

    // initiator resolves every answer
    const offered = new Map(offer);
    for (const [key, answer] of reply) {
      if (key === "MaxRecvDataSegmentLength") {
        applyParam(initiator, key, answer, "peer");
        continue;
      }
      applyParam(initiator, key, resolveAnswer(key, offered.get(key)!, answer));
    }
    finalizeParams(initiator);

    // both sides agree on every session-wide result
    const { maxRecvDataSegmentLength: iLocal, peerMaxRecvDataSegmentLength: iPeer, ...iRest } = initiator;
    const { maxRecvDataSegmentLength: tLocal, peerMaxRecvDataSegmentLength: tPeer, ...tRest } = target;
    expect(iRest).toEqual(tRest);
    expect(iLocal).toBe(tPeer);
    expect(iPeer).toBe(tLocal);
    expect(iLocal).toBe(want.maxRecvDataSegmentLength);
    expect(tLocal).toBe(policy.maxRecvDataSegmentLength);

    // and the results follow each key's function
    expect(initiator.headerDigest).toBe(want.headerDigest && policy.headerDigest);
    expect(initiator.dataDigest).toBe(want.dataDigest && policy.dataDigest);
    expect(initiator.initialR2T).toBe(want.initialR2T || policy.initialR2T);
    expect(initiator.immediateData).toBe(want.immediateData && policy.immediateData);
    expect(initiator.maxBurstLength).toBe(Math.min(want.maxBurstLength, policy.maxBurstLength));
    expect(initiator.maxOutstandingR2T).toBe(Math.min(want.maxOutstandingR2T, policy.maxOutstandingR2T));
    expect(initiator.defaultTime2Wait).toBe(Math.max(want.defaultTime2Wait, policy.defaultTime2Wait));
    expect(initiator.firstBurstLength).toBeLessThanOrEqual(initiator.maxBurstLength);
    if (!(initiator.initialR2T && !initiator.immediateData)) {
      expect(initiator.firstBurstLength).toBe(
        Math.min(want.firstBurstLength, policy.firstBurstLength, initiator.maxBurstLength),
      );
    }
  });
});
