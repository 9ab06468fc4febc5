/**
 * The shared PDU transport over a real loopback TCP pair: every PDU type both ways, with and without
 * digests, AHS and padding; exact counters; each fault hook; and the error contract (one error, then
 * one close).
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Connection } from "../../src/initiator/connection.js";
import { SessionError } from "../../src/initiator/errors.js";
import { encodePdu } from "../../src/iscsi/encode.js";
import type { ProtocolError } from "../../src/iscsi/errors.js";
import { type DigestOptions, Opcode, type Pdu } from "../../src/iscsi/pdu.js";
import { TransportError } from "../../src/transport/errors.js";
import { PduTransport, type TransportHandler } from "../../src/transport/pdu-transport.js";
import { ALL_SAMPLES, BIDI_COMMAND, INITIATOR_SAMPLES, pattern, TARGET_SAMPLES } from "./pdu-samples.js";

/** Records what a transport delivers; copies data (the views are valid only during the call). */
class Peer implements TransportHandler {
  pdus: Pdu[] = [];
  malformed: ProtocolError[] = [];
  errors: Error[] = [];
  closes = 0;
  /** What had been delivered when onError came (nothing may follow it). */
  pdusAtError = -1;
  constructor(takesMalformed: boolean) {
    if (!takesMalformed) (this as { onMalformed?: unknown }).onMalformed = undefined;
  }
  onPdu(pdu: Pdu): void {
    this.pdus.push("data" in pdu ? ({ ...pdu, data: Buffer.from(pdu.data) } as Pdu) : { ...pdu });
  }
  onMalformed?(err: ProtocolError): void {
    this.malformed.push(err);
  }
  onError(err: Error): void {
    this.errors.push(err);
    this.pdusAtError = this.pdus.length;
  }
  onClose(): void {
    this.closes++;
  }
}

const open: Array<{ destroy(): void } | net.Server> = [];

afterEach(() => {
  for (const o of open.splice(0)) {
    if (o instanceof net.Server) o.close();
    else o.destroy();
  }
});

async function listen(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  open.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

interface Pair {
  client: PduTransport;
  server: PduTransport;
  atClient: Peer;
  atServer: Peer;
}

/** A connected pair: the client through connect() (reused read buffer), the server on 'data' events. */
async function pair(takesMalformed = true): Promise<Pair> {
  let accept: (t: PduTransport) => void = () => {};
  const accepted = new Promise<PduTransport>((resolve) => {
    accept = resolve;
  });
  const atServer = new Peer(takesMalformed);
  const port = await listen((s) => {
    const t = new PduTransport(s, { pauseReadingOnBackpressure: true });
    t.handler = atServer;
    accept(t);
  });
  const client = await PduTransport.connect("127.0.0.1", port, 2000);
  const atClient = new Peer(takesMalformed);
  client.handler = atClient;
  const server = await accepted;
  open.push(client, server);
  return { client, server, atClient, atServer };
}

/** Waits until `cond` holds; fails after `ms` (nothing here depends on speed: the bound is generous). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Bytes of the PDUs on the wire, computed by the codec's own encodePdu (independent of the transport). */
function wireBytes(pdus: Pdu[], digests: DigestOptions): number {
  let n = 0;
  for (const p of pdus) for (const b of encodePdu(p, digests)) n += b.length;
  return n;
}

const NO_DIGESTS: DigestOptions = { headerDigest: false, dataDigest: false };
const MAX_RECV = 262144;

function nopOut(itt: number, data: Buffer = Buffer.alloc(0)): Pdu {
  return { ...INITIATOR_SAMPLES["NopOut"]!, itt, data } as Pdu;
}

function dataOut(itt: number, data: Buffer): Pdu {
  return { ...INITIATOR_SAMPLES["DataOut"]!, itt, data } as Pdu;
}

describe("PduTransport round trips", () => {
  it("the samples cover every opcode", () => {
    expect(Object.keys(ALL_SAMPLES).sort()).toEqual(Object.keys(Opcode).sort());
    for (const [name, pdu] of Object.entries(ALL_SAMPLES))
      expect(pdu.opcode, name).toBe(Opcode[name as keyof typeof Opcode]);
  });

  const cases: Array<[string, DigestOptions]> = [
    ["no digests", NO_DIGESTS],
    ["header and data digests", { headerDigest: true, dataDigest: true }],
    ["header digest only", { headerDigest: true, dataDigest: false }],
    ["data digest only", { headerDigest: false, dataDigest: true }],
  ];
  for (const [label, digests] of cases) {
    it(`every PDU type, both ways, with ${label}: fields, AHS and padding survive; counters are exact`, async () => {
      const { client, server, atClient, atServer } = await pair();
      if (digests !== NO_DIGESTS) {
        client.setNegotiated(digests.headerDigest, digests.dataDigest, MAX_RECV);
        server.setNegotiated(digests.headerDigest, digests.dataDigest, MAX_RECV);
      }
      const pdus = [...Object.values(ALL_SAMPLES), BIDI_COMMAND];
      for (const p of pdus) client.send(p);
      for (const p of [...pdus].reverse()) server.send(p);
      await until(() => atServer.pdus.length === pdus.length && atClient.pdus.length === pdus.length, "PDUs");
      expect(atServer.pdus).toEqual(pdus);
      expect(atClient.pdus).toEqual([...pdus].reverse());
      expect(atServer.malformed).toEqual([]);
      expect(atClient.errors).toEqual([]);
      const bytes = wireBytes(pdus, digests);
      for (const t of [client, server]) {
        expect(t.counters.pdusSent).toBe(pdus.length);
        expect(t.counters.pdusReceived).toBe(pdus.length);
        expect(t.counters.bytesSent).toBe(bytes);
        expect(t.counters.bytesReceived).toBe(bytes);
        expect(t.counters.pdusDropped).toBe(0);
      }
    });
  }

  it("send(pdu, data) sends `data` as the data segment and leaves the PDU object as it was", async () => {
    const { client, server, atClient } = await pair();
    client.setNegotiated(true, true, MAX_RECV);
    server.setNegotiated(true, true, MAX_RECV);
    const store = pattern(65536, 11);
    const d = { ...TARGET_SAMPLES["DataIn"]!, data: Buffer.alloc(0) } as Pdu & { data: Buffer };
    server.send(d, store.subarray(1000, 1000 + 4097));
    expect(d.data.length).toBe(0);
    await until(() => atClient.pdus.length === 1, "the Data-In");
    expect((atClient.pdus[0] as { data: Buffer }).data).toEqual(store.subarray(1000, 1000 + 4097));
    // BHS + header digest + 4097 bytes padded to 4100 + data digest
    expect(server.counters.bytesSent).toBe(48 + 4 + 4100 + 4);
    expect(client.counters.bytesReceived).toBe(48 + 4 + 4100 + 4);
  });

  it("a large Data-In data segment is read from the socket straight into the placed buffer", async () => {
    const size = MAX_RECV - 2; // padded on the wire: the padding must not land in the destination
    const sent = [pattern(size, 21), pattern(size, 22)];
    const stream = Buffer.concat(
      sent.flatMap((data, itt) => encodePdu({ ...TARGET_SAMPLES["DataIn"]!, itt, data } as Pdu, NO_DIGESTS)),
    );
    let raw: net.Socket | null = null;
    const port = await listen((s) => {
      raw = s;
    });
    const client = await PduTransport.connect("127.0.0.1", port, 2000);
    open.push(client);
    client.setNegotiated(false, false, MAX_RECV);
    const dests = sent.map(() => Buffer.alloc(size + 8, 0xee));
    const got: Array<{ itt: number; data: Buffer; placed: boolean }> = [];
    client.handler = {
      onPdu: (pdu) => {
        const { itt, data } = pdu as { itt: number; data: Buffer };
        got.push({ itt, data: Buffer.from(data), placed: data.buffer === dests[itt]!.buffer });
      },
      onError: () => {},
      onClose: () => {},
      placeData: (bhs, off, dsl) => dests[bhs.readUInt32BE(off + 16)]!.subarray(4, 4 + dsl),
    };
    await until(() => raw !== null, "the accept");
    // The first PDU's header and 1000 data bytes alone, the rest later: the rest of its data is
    // one direct read; the second PDU then arrives whole in the read buffer and is not placed.
    raw!.write(stream.subarray(0, 48 + 1000));
    await until(() => client.counters.bytesReceived === 48 + 1000, "the first piece");
    await sleep(20);
    raw!.write(stream.subarray(48 + 1000));
    await until(() => got.length === 2, "the Data-In PDUs");
    expect(got.map((g) => [g.itt, g.placed])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(got[0]!.data.equals(sent[0]!)).toBe(true);
    expect(got[1]!.data.equals(sent[1]!)).toBe(true);
    expect(dests[0]!.subarray(4, 4 + size).equals(sent[0]!)).toBe(true);
    // nothing written around the destination: the padding after the data was skipped
    expect([...dests[0]!.subarray(0, 4), ...dests[0]!.subarray(4 + size)]).toEqual(Array(8).fill(0xee));
    expect(client.counters.bytesReceived).toBe(stream.length);
    // the first PDU's data after its first 1000 bytes came straight from the kernel (all of it,
    // unless the kernel handed it over in pieces and the last one was under 16 KiB)
    expect(client.counters.bytesReceivedDirect).toBeLessThanOrEqual(size - 1000);
    expect(client.counters.bytesReceivedDirect).toBeGreaterThan(size - 1000 - 16 * 1024);
  });

  it("a data segment above the peer's MaxRecvDataSegmentLength is one framing error, then one close", async () => {
    const { client, server, atServer } = await pair();
    server.setNegotiated(false, false, 4096);
    client.send(dataOut(1, pattern(100, 1)));
    client.send(dataOut(2, pattern(4097, 2)));
    client.send(dataOut(3, pattern(100, 3)));
    await until(() => atServer.closes === 1, "the close");
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1]);
    expect(atServer.errors.length).toBe(1);
    const err = atServer.errors[0] as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.kind).toBe("framing");
    expect(err.protocol?.kind).toBe("length");
    expect(err.message).toMatch(/DataSegmentLength 4097 exceeds MaxRecvDataSegmentLength 4096/);
    expect(atServer.pdusAtError).toBe(1);
    expect(server.isClosed).toBe(true);
  });
});

describe("PduTransport errors", () => {
  it("a malformed byte stream yields one typed error, then one close, and nothing after", async () => {
    const atServer = new Peer(true);
    let server: PduTransport | null = null;
    const port = await listen((s) => {
      server = new PduTransport(s);
      server.handler = atServer;
      open.push(server);
    });
    const raw = net.connect(port, "127.0.0.1");
    open.push(raw);
    await new Promise((r) => raw.once("connect", r));
    const good = Buffer.concat(encodePdu(nopOut(1), NO_DIGESTS));
    const bad = Buffer.alloc(48, 0xff); // TotalAHSLength 1020 bytes: beyond any legal AHS
    raw.write(Buffer.concat([good, bad, good]));
    await until(() => atServer.closes === 1, "the close");
    await sleep(20);
    expect(atServer.pdus.length).toBe(1);
    expect(atServer.errors.length).toBe(1);
    expect((atServer.errors[0] as TransportError).kind).toBe("framing");
    expect(atServer.errors[0]!.message).toMatch(/^framing error from 127\.0\.0\.1:\d+: TotalAHSLength/);
    expect(atServer.closes).toBe(1);
    expect(server!.counters.pdusReceived).toBe(1);
    expect(server!.counters.bytesReceived).toBe(good.length * 2 + 48);
  });

  it("without onMalformed a data digest error is TransportError('malformed'), then close", async () => {
    const { client, server, atServer } = await pair(false);
    client.setNegotiated(false, true, MAX_RECV);
    server.setNegotiated(false, true, MAX_RECV);
    client.corruptNextDataDigest();
    client.send(dataOut(1, pattern(10, 1)));
    client.send(dataOut(2, pattern(10, 2)));
    await until(() => atServer.closes === 1, "the close");
    expect(atServer.errors.length).toBe(1);
    const err = atServer.errors[0] as TransportError;
    expect(err.kind).toBe("malformed");
    expect(err.protocol?.kind).toBe("dataDigest");
    expect(atServer.pdus).toEqual([]);
  });

  it("an exception in onPdu is the transport's error (once), then close", async () => {
    const { client, server, atServer } = await pair();
    const boom = new Error("handler bug");
    server.handler = {
      ...atServer,
      onPdu: () => {
        throw boom;
      },
      onError: (e) => atServer.onError(e),
      onClose: () => atServer.onClose(),
    };
    client.send(nopOut(1));
    client.send(nopOut(2));
    await until(() => atServer.closes === 1, "the close");
    expect(atServer.errors).toEqual([boom]);
  });

  it("the handler may end gracefully from onError: what it sent before still reaches the peer", async () => {
    const { client, server, atClient, atServer } = await pair();
    server.setNegotiated(false, false, 512);
    server.handler = {
      onPdu: (p) => atServer.onPdu(p),
      onError: (e) => {
        atServer.onError(e);
        server.end(1000);
      },
      onClose: () => atServer.onClose(),
    };
    server.send(nopOut(7));
    client.send(dataOut(1, pattern(1000, 1)));
    await until(() => atClient.closes === 1 && atServer.closes === 1, "both closes");
    expect(atServer.errors.length).toBe(1);
    expect(atClient.pdus.map((p) => (p as { itt: number }).itt)).toEqual([7]);
    expect(atClient.errors).toEqual([]);
  });

  it("connect() to a closed port rejects with TransportError('socket') naming the address", async () => {
    const port = await listen(() => {});
    const server = open.pop() as net.Server;
    await new Promise((r) => server.close(r));
    const err = await PduTransport.connect("127.0.0.1", port, 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe("socket");
    expect((err as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe("PduTransport hooks", () => {
  it("hold() keeps every outgoing PDU until release(), which sends them in order", async () => {
    const { client, atServer } = await pair();
    client.send(nopOut(1));
    client.hold();
    expect(client.holding).toBe(true);
    for (let i = 2; i <= 5; i++) client.send(nopOut(i, pattern(i, i)));
    await sleep(100);
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1]);
    expect(client.heldPdus).toBe(4);
    expect(client.counters.pdusSent).toBe(1);
    client.send(nopOut(6));
    expect(client.release()).toBe(5);
    expect(client.holding).toBe(false);
    client.send(nopOut(7));
    await until(() => atServer.pdus.length === 7, "7 PDUs");
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((atServer.pdus[3] as { data: Buffer }).data).toEqual(pattern(4, 4));
    const sent = [1, 2, 3, 4, 5, 6, 7].map((i) => nopOut(i, i >= 2 && i <= 5 ? pattern(i, i) : undefined));
    expect(client.counters.pdusSent).toBe(7);
    expect(client.counters.bytesSent).toBe(wireBytes(sent, NO_DIGESTS));
    expect(client.release()).toBe(0);
  });

  it("destroy() while holding discards the held PDUs", async () => {
    const { client, atServer } = await pair();
    client.hold();
    client.send(nopOut(1));
    client.destroy();
    await until(() => atServer.closes === 1, "the close");
    expect(atServer.pdus).toEqual([]);
    expect(client.counters.pdusSent).toBe(0);
  });

  it("a send hook drops exactly the PDUs it refuses, the rest keep their order", async () => {
    const { client, atServer } = await pair();
    const seen: number[] = [];
    client.setSendHook((pdu, data) => {
      seen.push((pdu as { itt: number }).itt);
      expect(data?.length ?? 0).toBe((pdu as { data?: Buffer }).data?.length ?? 0);
      return (pdu as { itt: number }).itt !== 3;
    });
    for (let i = 1; i <= 5; i++) client.send(nopOut(i, pattern(i, i)));
    client.setSendHook(null);
    client.send(nopOut(3));
    await until(() => atServer.pdus.length === 5, "5 PDUs");
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1, 2, 4, 5, 3]);
    expect(client.counters.pdusDropped).toBe(1);
    expect(client.counters.pdusSent).toBe(5);
  });

  it("a send hook sees PDUs before a hold, so a dropped PDU is never held", async () => {
    const { client, atServer } = await pair();
    client.setSendHook((pdu) => (pdu as { itt: number }).itt % 2 === 1);
    client.hold();
    for (let i = 1; i <= 4; i++) client.send(nopOut(i));
    expect(client.heldPdus).toBe(2);
    client.release();
    await until(() => atServer.pdus.length === 2, "2 PDUs");
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1, 3]);
  });

  it("corruptNextDataDigest() spoils the next data segment's digest only; the peer sees a data digest error", async () => {
    const { client, server, atServer } = await pair();
    client.corruptNextDataDigest();
    client.send(nopOut(1, pattern(8, 1))); // digests not on yet: stays armed
    expect(client.corruptArmed).toBe(true);
    await until(() => atServer.pdus.length === 1, "the first PDU");
    client.setNegotiated(true, true, MAX_RECV);
    server.setNegotiated(true, true, MAX_RECV);
    client.send(nopOut(2)); // no data segment: stays armed
    client.send(dataOut(3, pattern(4082, 3)));
    expect(client.corruptArmed).toBe(false);
    client.send(dataOut(4, pattern(4082, 4)));
    await until(() => atServer.pdus.length === 3 && atServer.malformed.length === 1, "the PDUs");
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1, 2, 4]);
    expect(atServer.malformed[0]!.kind).toBe("dataDigest");
    expect(atServer.malformed[0]!.message).toMatch(/ITT 0x00000003/);
    expect(atServer.errors).toEqual([]);
    expect(client.counters.digestsCorrupted).toBe(1);
    // the corrupt PDU is still a sent and a received PDU of the same size
    expect(client.counters.pdusSent).toBe(4);
    expect(server.counters.pdusReceived).toBe(4);
  });

  it("reset() drops the connection with a RST: the peer gets one socket error, then one close", async () => {
    const { client, atClient, atServer } = await pair();
    client.send(nopOut(1));
    await until(() => atServer.pdus.length === 1, "the PDU");
    client.reset();
    client.send(nopOut(2)); // ignored
    await until(() => atServer.closes === 1 && atClient.closes === 1, "both closes");
    expect(atServer.errors.length).toBe(1);
    expect((atServer.errors[0] as TransportError).kind).toBe("socket");
    expect((atServer.errors[0] as TransportError).code).toBe("ECONNRESET");
    expect(atClient.errors).toEqual([]);
    expect(client.isClosed).toBe(true);
  });

  it("destroy() closes with a FIN: the peer sees a close without an error", async () => {
    const { client, atClient, atServer } = await pair();
    client.destroy();
    await until(() => atServer.closes === 1 && atClient.closes === 1, "both closes");
    expect(atServer.errors).toEqual([]);
    expect(atClient.errors).toEqual([]);
  });

  it("end() sends what is queued, then closes; later sends are ignored", async () => {
    const { client, server, atServer } = await pair();
    client.send(nopOut(1));
    client.send(nopOut(2));
    client.end();
    client.send(nopOut(3));
    await until(() => atServer.pdus.length === 2, "2 PDUs");
    server.end();
    await until(() => atServer.closes === 1, "the close");
    expect(atServer.pdus.map((p) => (p as { itt: number }).itt)).toEqual([1, 2]);
    expect(atServer.errors).toEqual([]);
  });
});

describe("the initiator's Connection over the transport", () => {
  it("exposes its transport and words a framing error as a SessionError from the target", async () => {
    let peer: net.Socket | null = null;
    const port = await listen((s) => {
      peer = s;
      open.push(s);
    });
    const conn = await Connection.open("127.0.0.1", port, 2000);
    open.push(conn);
    const errors: Error[] = [];
    let closes = 0;
    conn.handler = { onPdu() {}, onError: (e) => errors.push(e), onClose: () => closes++ };
    conn.send(nopOut(1));
    await until(() => conn.transport.counters.pdusSent === 1 && peer !== null, "the send");
    expect(conn.transport.counters.bytesSent).toBe(48);
    peer!.write(Buffer.alloc(48, 0xff));
    await until(() => closes === 1, "the close");
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(SessionError);
    expect(errors[0]!.message).toMatch(/^protocol error from the target: TotalAHSLength 1020 bytes exceeds/);
    expect(conn.isClosed).toBe(true);
  });

  it("open() on a closed port rejects with a SessionError", async () => {
    const port = await listen(() => {});
    const server = open.pop() as net.Server;
    await new Promise((r) => server.close(r));
    await expect(Connection.open("127.0.0.1", port, 2000)).rejects.toThrow(
      new SessionError(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`),
    );
  });
});
