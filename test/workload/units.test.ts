import { describe, expect, it } from "vitest";
import { InputError } from "../../src/common/errors.js";
import { formatBytes, formatDuration, parseDuration, parseSize } from "../../src/workload/units.js";

describe("parseSize", () => {
  it.each([
    [4096, 4096],
    [0, 0],
    ["4096", 4096],
    ["512B", 512],
    ["4KiB", 4096],
    ["4kib", 4096],
    ["4k", 4096],
    ["4K", 4096],
    ["1.5KiB", 1536],
    ["128 KiB", 128 * 1024],
    ["1MiB", 1048576],
    ["1M", 1048576],
    ["1GiB", 1073741824],
    ["2TiB", 2 * 1024 ** 4],
    ["50MB", 50_000_000],
    ["1KB", 1000],
    ["1GB", 1_000_000_000],
    ["1TB", 1e12],
    [" 8 KiB ", 8192],
  ])("%j -> %d", (input, bytes) => {
    expect(parseSize(input, "size")).toBe(bytes);
  });

  it.each([
    ["abc", 'size: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got "abc"'],
    ["4 XB", 'size: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got "4 XB"'],
    ["-4KiB", 'size: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got "-4KiB"'],
    [-1, 'size: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got -1'],
    [1.5, 'size: expected a size such as 4096, "4KiB", "1GiB" or "50MB", got 1.5'],
    ["0.1k", 'size: expected a whole number of bytes, got "0.1k" (102.4 bytes)'],
  ])("rejects %j", (input, message) => {
    expect(() => parseSize(input, "size")).toThrow(InputError);
    expect(() => parseSize(input, "size")).toThrow(message);
  });
});

describe("parseDuration", () => {
  it.each([
    [30, 30_000],
    [0.5, 500],
    ["30", 30_000],
    ["500ms", 500],
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["1d", 86_400_000],
    ["2500us", 3],
  ])("%j -> %d ms", (input, ms) => {
    expect(parseDuration(input, "duration")).toBe(ms);
  });

  it.each([
    ["soon", 'duration: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "soon"'],
    ["30 sec", 'duration: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got "30 sec"'],
    [-1, 'duration: expected a duration such as 30, "500ms", "30s", "2m" or "1h", got -1'],
  ])("rejects %j", (input, message) => {
    expect(() => parseDuration(input, "duration")).toThrow(message);
  });
});

describe("format", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(512)).toBe("512B");
    expect(formatBytes(4096)).toBe("4KiB");
    expect(formatBytes(1536)).toBe("1.5KiB");
    expect(formatBytes(1073741824)).toBe("1GiB");
    expect(formatBytes(1e9)).toBe("953.67MiB");
    expect(parseSize(formatBytes(64 * 1024), "x")).toBe(65536);
  });

  it("formats durations", () => {
    expect(formatDuration(500)).toBe("500ms");
    expect(formatDuration(2500)).toBe("2.5s");
    expect(formatDuration(30_000)).toBe("30s");
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(parseDuration(formatDuration(120_000), "x")).toBe(120_000);
  });
});
