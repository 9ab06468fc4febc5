/**
 * startLink() through the compiled worker (dist/link/link-worker.js, built once by the engine
 * tests' helper): it listens, carries bytes intact, reports stats with the worker thread's CPU
 * time, stops, and reports a port it cannot listen on. startLinkInProcess() has the same contract.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningLink, startLink, startLinkInProcess } from "../../src/link/index.js";
import { parseLinkSpec } from "../../src/link/spec.js";
import { buildDist, ROOT } from "../engine/e2e.js";
import {
  closeAll,
  connect,
  listen,
  pattern,
  portOf,
  receive,
  sendAll,
  sha256,
  within,
} from "./net-helpers.js";

const links: RunningLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) await l.stop();
  await closeAll();
});

beforeAll(() => {
  buildDist();
  if (!existsSync(join(ROOT, "dist", "link", "link-worker.js")))
    throw new Error("dist/link/link-worker.js missing");
}, 180_000);

describe.each([
  ["worker", startLink],
  ["in-process", startLinkInProcess],
] as const)("startLink (%s)", (_name, start) => {
  it("relays bytes intact, reports stats, and stops", async () => {
    const data = pattern(8 * 1024 * 1024, 21);
    let got: ReturnType<typeof receive> | undefined;
    const server = await listen((s) => {
      got = receive(s);
    });
    const link = await start({
      listenHost: "127.0.0.1",
      listenPort: 0,
      to: { host: "127.0.0.1", port: portOf(server) },
      spec: parseLinkSpec("unlimited"),
    });
    links.push(link);
    expect(link.host).toBe("127.0.0.1");
    expect(link.port).toBeGreaterThan(0);
    expect(link.queueBytes).toBe(256 * 1024);
    const c = await connect(link.port);
    await within(sendAll(c, data, 1 << 20, 22), 20_000, "send");
    await within(
      (async () => {
        while (got === undefined) await new Promise((r) => setTimeout(r, 2));
        await got.ended;
      })(),
      20_000,
      "receive",
    );
    expect(got!.hash.digest("hex")).toBe(sha256(data));
    const st = await link.stats();
    expect(st.up.bytes).toBe(data.length);
    expect(st.connections.accepted).toBe(1);
    expect(st.cpu).not.toBeNull();
    expect(st.cpu!.userMs + st.cpu!.systemMs).toBeGreaterThanOrEqual(0);
    await within(link.stop(), 10_000, "stop");
    await within(link.stop(), 1000, "second stop");
    await expect(connect(link.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("stops after connections that ended and then failed (no handle left half-closed)", async () => {
    // Each round: the client sends and ends, the server reads, replies and ends, and the client is
    // destroyed as soon as the reply arrives, so the relay's end() towards it can meet a reset.
    // Resetting a socket with a shutdown pending leaves its handle open in Node 20, and a worker
    // then never finishes exiting (the benchmark hit it). The race is timing-dependent: this test
    // walks the path but does not reproduce the old failure every time.
    const server = await listen((s) => {
      s.on("data", () => {});
      s.on("end", () => s.end(Buffer.alloc(256 * 1024)));
    });
    const link = await start({
      listenHost: "127.0.0.1",
      listenPort: 0,
      to: { host: "127.0.0.1", port: portOf(server) },
      spec: parseLinkSpec("unlimited"),
    });
    links.push(link);
    const data = pattern(4 * 1024 * 1024, 23);
    for (let i = 0; i < 8; i++) {
      const c = await connect(link.port);
      const first = new Promise((r) => c.once("data", r));
      await within(sendAll(c, data, 1 << 20, 24 + i), 10_000, "send");
      await within(first, 10_000, "reply");
      c.destroy();
    }
    await within(link.stop(), 8000, "stop");
  });

  it("rejects when it cannot listen", async () => {
    const server = await listen(() => {});
    await expect(
      start({
        listenHost: "127.0.0.1",
        listenPort: portOf(server),
        to: { host: "127.0.0.1", port: 9 },
        spec: parseLinkSpec("1gbit"),
      }),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
