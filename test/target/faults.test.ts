/**
 * The fault spec grammar (every spec, every extension, bad specs as one-line InputErrors), the
 * seeded BUSY/TASK SET FULL shares and the target-wide stall schedule.
 */
import { describe, expect, it, vi } from "vitest";
import { durationMs } from "../../src/common/duration.js";
import { InputError } from "../../src/common/errors.js";
import { FaultInjector, type FaultTarget } from "../../src/target/fault-injector.js";
import {
  ConnectionFaultCounter,
  type FaultSpec,
  formatFault,
  parseFaultSpec,
  parseFaultSpecs,
  StallSchedule,
} from "../../src/target/faults.js";
import { tryDuration } from "../../src/workload/units.js";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("fault specs", () => {
  const good: Array<[string, FaultSpec]> = [
    ["close-after=5", { kind: "close-after", commands: 5 }],
    ["close-every=2s", { kind: "close-every", everyMs: 2000 }],
    ["stall=500ms", { kind: "stall", forMs: 500, everyMs: 0, afterMs: 0 }],
    ["stall=5s,every=10s", { kind: "stall", forMs: 5000, everyMs: 10000, afterMs: 0 }],
    ["stall=1,every=1m,after=250ms", { kind: "stall", forMs: 1000, everyMs: 60000, afterMs: 250 }],
    ["busy=5", { kind: "busy", percent: 5 }],
    ["busy=2.5%", { kind: "busy", percent: 2.5 }],
    ["task-set-full=10", { kind: "task-set-full", percent: 10 }],
    ["drop-response=3", { kind: "drop-response", command: 3 }],
    ["corrupt-digest=7", { kind: "corrupt-digest", dataIn: 7 }],
    ["async-logout=3s", { kind: "async-logout", afterMs: 3000, withinS: 10 }],
    ["async-logout=1s,within=4s", { kind: "async-logout", afterMs: 1000, withinS: 4 }],
    ["unit-attention=200ms", { kind: "unit-attention", afterMs: 200, asc: 0x29, ascq: 0 }],
    ["unit-attention=1s,asc=0x2a,ascq=9", { kind: "unit-attention", afterMs: 1000, asc: 0x2a, ascq: 9 }],
    [" STALL=2s , EVERY=4s ", { kind: "stall", forMs: 2000, everyMs: 4000, afterMs: 0 }],
  ];
  for (const [text, spec] of good) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(parseFaultSpec(text)).toEqual(spec);
      // the canonical spelling parses back to the same spec
      expect(parseFaultSpec(formatFault(spec))).toEqual(spec);
    });
  }

  const bad: Array<[string, string]> = [
    ["stall=5x", '--fault "stall=5x": bad duration "5x"'],
    ["stall=0s", 'duration "0s" must be more than 0'],
    ["stall=2s,every=1s", "every=1s must be longer than the stall 2s"],
    ["stall=2s,every=", "every needs a value"],
    ["stall=2s,every=4s,every=5s", "every= given twice"],
    ["stall=2s,often=4s", 'unknown option "often=4s" (stall takes every=, after=)'],
    ["close-after=0", 'bad count "0"'],
    ["close-after=-1", 'bad count "-1"'],
    ["close-after=2.5", 'bad count "2.5"'],
    ["close-after=3,every=1s", "(close-after takes none)"],
    ["close-every=soon", 'bad duration "soon"'],
    ["busy=101", 'bad percent "101" (expected 0..100)'],
    ["busy=lots", 'bad percent "lots"'],
    ["task-set-full=", "task-set-full needs a value"],
    ["drop-response", "drop-response needs a value (drop-response=...)"],
    ["corrupt-digest=x", 'bad count "x"'],
    ["async-logout=1s,within=1500ms", "must be whole seconds"],
    ["unit-attention=1s,asc=0x123", 'bad asc "0x123"'],
    ["explode=1", 'unknown fault "explode"'],
    ["", "empty fault spec"],
  ];
  for (const [text, part] of bad) {
    it(`refuses ${JSON.stringify(text)} naming the spec and the bad part`, () => {
      const msg = message(() => parseFaultSpec(text));
      expect(msg).toContain(part);
      expect(msg.startsWith("--fault ")).toBe(true);
      expect(msg).not.toContain("\n");
    });
  }

  it("names the option it was given under", () => {
    expect(message(() => parseFaultSpec("stall=5x", "faults[0]"))).toBe(
      'faults[0] "stall=5x": bad duration "5x"',
    );
  });

  it("refuses busy and task-set-full that add up to more than 100 %", () => {
    expect(message(() => parseFaultSpecs(["busy=60", "task-set-full=50"]))).toContain("110 %");
    expect(parseFaultSpecs(["busy=60", "task-set-full=40"])).toHaveLength(2);
  });

  it("reads durations exactly as workload files do", () => {
    for (const t of ["30", "0.5", "500ms", "250us", "2m", "1h", "1d", " 3 s ", ".5s"]) {
      expect(durationMs(t), t).toBe(tryDuration(t));
    }
    for (const t of ["", "5x", "-1s", "1e3", "s"]) {
      expect(durationMs(t), t).toBeNull();
      expect(typeof tryDuration(t), t).toBe("string");
    }
  });
});

describe("seeded shares", () => {
  function statuses(seed: number, connection: number, n: number, opcode = 0x28): number[] {
    const c = new ConnectionFaultCounter(
      [
        { kind: "busy", percent: 10 },
        { kind: "task-set-full", percent: 5 },
      ],
      seed,
      connection,
    );
    return Array.from({ length: n }, () => c.onCommand(opcode));
  }

  it("answers about the configured share, the same each time for the same seed and connection", () => {
    const a = statuses(42, 0, 20_000);
    expect(statuses(42, 0, 20_000)).toEqual(a);
    const busy = a.filter((s) => s === 0x08).length / a.length;
    const tsf = a.filter((s) => s === 0x28).length / a.length;
    expect(busy).toBeGreaterThan(0.09);
    expect(busy).toBeLessThan(0.11);
    expect(tsf).toBeGreaterThan(0.04);
    expect(tsf).toBeLessThan(0.06);
    expect(a.filter((s) => s === -1).length).toBe(a.length - a.filter((s) => s !== -1).length);
    // another seed or another connection: another sequence
    expect(statuses(43, 0, 200)).not.toEqual(a.slice(0, 200));
    expect(statuses(42, 1, 200)).not.toEqual(a.slice(0, 200));
  });

  it("leaves INQUIRY, REQUEST SENSE and REPORT LUNS alone", () => {
    for (const op of [0x12, 0x03, 0xa0]) expect(new Set(statuses(1, 0, 500, op))).toEqual(new Set([-1]));
  });

  it("counts commands and Data-In per connection for close-after, drop-response and corrupt-digest", () => {
    const c = new ConnectionFaultCounter(
      [
        { kind: "close-after", commands: 3 },
        { kind: "drop-response", command: 2 },
        { kind: "corrupt-digest", dataIn: 4 },
      ],
      1,
      0,
    );
    const seen = [1, 2, 3, 4].map(() => {
      c.onCommand(0x28);
      return [c.dropThis(), c.closeAfterThis()];
    });
    expect(seen).toEqual([
      [false, false],
      [true, false],
      [false, true],
      [false, false],
    ]);
    expect([1, 2, 3, 4, 5].map(() => c.onDataIn())).toEqual([false, false, false, true, false]);
  });
});

describe("stall schedule", () => {
  it("holds once from the first command plus after=", () => {
    const s = new StallSchedule({ forMs: 100, everyMs: 0, afterMs: 50 });
    expect(s.until(1000)).toBe(0);
    expect(s.nextStart(1000)).toBe(-1);
    s.start(1000);
    s.start(5000); // the first command anchors it; later ones do not move it
    expect(s.nextStart(1000)).toBe(1050);
    expect(s.until(1049)).toBe(0);
    expect(s.until(1050)).toBe(1150);
    expect(s.until(1149)).toBe(1150);
    expect(s.until(1150)).toBe(0);
    expect(s.nextStart(1151)).toBe(-1);
  });

  it("repeats every interval", () => {
    const s = new StallSchedule({ forMs: 100, everyMs: 1000, afterMs: 0 });
    s.start(0);
    expect(s.until(50)).toBe(100);
    expect(s.until(500)).toBe(0);
    expect(s.nextStart(500)).toBe(1000);
    expect(s.until(2099)).toBe(2100);
    expect(s.nextStart(2100)).toBe(3000);
  });
});

describe("FaultInjector: the stall", () => {
  it("a stall without `every` holds the first command's answer even when the clock ticks in between", () => {
    let clock = 1_000_000;
    const now = vi.spyOn(Date, "now").mockImplementation(() => clock++); // 1 ms per reading
    try {
      let holds = 0;
      const injector = new FaultInjector(parseFaultSpecs(["stall=600ms"]), 1, () => {});
      const target: FaultTarget = {
        remote: "127.0.0.1:1",
        dataDigest: false,
        transport: {
          hold: () => {
            holds++;
          },
          release: () => 0,
          corruptNextDataDigest: () => {},
        },
        faultClose: () => {},
        sendAsyncLogout: () => {},
        raiseUnitAttention: () => {},
      };
      const c = injector.forConnection(target)!;
      c.onLogin();
      expect(c.onCommand(0x00)).toBe(-1);
      expect(holds).toBe(1);
      injector.close();
    } finally {
      now.mockRestore();
    }
  });
});
