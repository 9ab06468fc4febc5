/**
 * --link parsing: rates, options, every error message, and the rate's display form.
 */
import { describe, expect, it } from "vitest";
import { formatLinkRate, formatLinkSpec, LinkSpecError, parseLinkSpec } from "../../src/link/spec.js";

describe("parseLinkSpec", () => {
  it("parses rates in decimal units", () => {
    expect(parseLinkSpec("100mbit")).toEqual({ bitsPerSec: 100e6, delayMs: 0, mtu: 1500 });
    expect(parseLinkSpec("1gbit").bitsPerSec).toBe(1e9);
    expect(parseLinkSpec("10gbit").bitsPerSec).toBe(10e9);
    expect(parseLinkSpec("2.5gbit").bitsPerSec).toBe(2.5e9);
    expect(parseLinkSpec("64kbit").bitsPerSec).toBe(64_000);
    expect(parseLinkSpec("5000bit").bitsPerSec).toBe(5000);
    expect(parseLinkSpec(" 1GBit ").bitsPerSec).toBe(1e9);
  });

  it("reads unlimited and 0 as no rate limit", () => {
    expect(parseLinkSpec("unlimited").bitsPerSec).toBe(0);
    expect(parseLinkSpec("0,delay=1ms")).toEqual({ bitsPerSec: 0, delayMs: 1, mtu: 1500 });
  });

  it("parses delay, mtu and queue", () => {
    expect(parseLinkSpec("100mbit,delay=2ms,mtu=9000")).toEqual({ bitsPerSec: 100e6, delayMs: 2, mtu: 9000 });
    expect(parseLinkSpec("1gbit,delay=0.5ms").delayMs).toBe(0.5);
    expect(parseLinkSpec("1gbit,delay=1s").delayMs).toBe(1000);
    expect(parseLinkSpec("1gbit,delay=250us").delayMs).toBe(0.25);
    expect(parseLinkSpec("1gbit, mtu=576").mtu).toBe(576);
    expect(parseLinkSpec("1gbit,mtu=9216").mtu).toBe(9216);
    expect(parseLinkSpec("1gbit,queue=256k").queueBytes).toBe(256 * 1024);
    expect(parseLinkSpec("1gbit,queue=4m").queueBytes).toBe(4 * 1024 * 1024);
  });

  const cases: [string, string][] = [
    ["100mbps", '--link: "100mbps": expected <n>[k|m|g]bit'],
    ["mbit", '--link: "mbit": expected <n>[k|m|g]bit'],
    ["", '--link: "": expected <n>[k|m|g]bit or unlimited'],
    [",delay=2ms", '--link: ",delay=2ms": expected <n>[k|m|g]bit or unlimited'],
    ["0mbit", '--link: "0mbit": expected at least 1kbit (or unlimited for no limit)'],
    ["999bit", '--link: "999bit": expected at least 1kbit (or unlimited for no limit)'],
    ["1gbit,jitter=1ms", '--link: "jitter=1ms": unknown option (expected delay=, mtu= or queue=)'],
    ["1gbit,", '--link: "": unknown option (expected delay=, mtu= or queue=)'],
    ["1gbit,delay=2", '--link: "delay=2": expected a duration like 2ms, 0.5ms or 1s'],
    ["1gbit,delay=-1ms", '--link: "delay=-1ms": expected a duration like 2ms, 0.5ms or 1s'],
    ["1gbit,delay", '--link: "delay": expected a duration like 2ms, 0.5ms or 1s'],
    ["1gbit,delay=11s", '--link: "delay=11s": expected a delay of at most 10s'],
    ["1gbit,delay=1ms,delay=2ms", '--link: "delay=2ms": delay= given twice'],
    ["1gbit,mtu=575", '--link: "mtu=575": expected an MTU of 576..9216'],
    ["1gbit,mtu=9217", '--link: "mtu=9217": expected an MTU of 576..9216'],
    ["1gbit,mtu=1500.5", '--link: "mtu=1500.5": expected an MTU of 576..9216'],
    ["1gbit,queue=1k", '--link: "queue=1k": expected a queue size of 4k..1024m bytes, like 256k or 4m'],
    ["1gbit,queue=big", '--link: "queue=big": expected a queue size of 4k..1024m bytes, like 256k or 4m'],
  ];
  it.each(cases)("rejects %j", (text, message) => {
    let err: unknown;
    try {
      parseLinkSpec(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LinkSpecError);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("LinkSpecError");
    expect((err as Error).message).toBe(message);
  });

  it("names the option it parses for", () => {
    expect(() => parseLinkSpec("fast", "--rate")).toThrow('--rate: "fast": expected <n>[k|m|g]bit');
  });
});

describe("formatLinkRate", () => {
  it("prints the rate in its largest whole unit", () => {
    expect(formatLinkRate(100e6)).toBe("100 Mbit/s");
    expect(formatLinkRate(1e9)).toBe("1 Gbit/s");
    expect(formatLinkRate(2.5e9)).toBe("2.5 Gbit/s");
    expect(formatLinkRate(64_000)).toBe("64 kbit/s");
    expect(formatLinkRate(500)).toBe("500 bit/s");
    expect(formatLinkRate(0)).toBe("unlimited");
  });

  it("prints a whole spec", () => {
    expect(formatLinkSpec(parseLinkSpec("100mbit,delay=2ms,mtu=9000"))).toBe(
      "100 Mbit/s, delay 2 ms, MTU 9000",
    );
    expect(formatLinkSpec(parseLinkSpec("1gbit,queue=512k"))).toBe("1 Gbit/s, queue 512 KiB");
  });
});
