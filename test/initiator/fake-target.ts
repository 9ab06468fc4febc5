/**
 * A scripted in-process peer for session unit tests: accepts one connection, answers the login
 * with fixed parameters and a chosen CmdSN window, then hands every initiator PDU to the test,
 * which replies with hand-built target PDUs.
 */
import net from "node:net";
import { encodePdu } from "../../src/iscsi/encode.js";
import { PduFramer } from "../../src/iscsi/framer.js";
import type { InitiatorPdu, LoginRequest, Pdu, TargetPdu } from "../../src/iscsi/pdu.js";

const NO_DIGESTS = { headerDigest: false, dataDigest: false };

export interface FakeTarget {
  port: number;
  /** PDUs received after login, in order (data copied). */
  received: InitiatorPdu[];
  send(pdu: TargetPdu): void;
  /** Resolves when `n` PDUs have been received in the full feature phase. */
  waitFor(n: number): Promise<void>;
  statSN: number;
  /** Every login request received (first PDU of each login), over all connections. */
  logins: LoginRequest[];
  /** Connections accepted so far. */
  connections: number;
  /** Resets the current connection (the server keeps accepting). */
  drop(): void;
  /** Stops accepting new connections (the current one stays). */
  refuse(): void;
  /** Reset every connection right after its login completes (a flapping target); may be set at any time. */
  dropAfterLogin: boolean;
  close(): Promise<void>;
}

export interface FakeTargetOptions {
  /** Login response text of the operational stage. */
  operational: string;
  expCmdSN: number;
  maxCmdSN: number;
  /** Drop every connection right after its login completes (a flapping target). */
  dropAfterLogin?: boolean;
}

export function startFakeTarget(opts: FakeTargetOptions): Promise<FakeTarget> {
  return new Promise((resolve) => {
    let socket: net.Socket | null = null;
    let refusing = false;
    const waiters: Array<{ n: number; resolve: () => void }> = [];
    const target: FakeTarget = {
      port: 0,
      received: [],
      statSN: 100,
      logins: [],
      connections: 0,
      dropAfterLogin: opts.dropAfterLogin ?? false,
      drop() {
        socket?.resetAndDestroy();
      },
      refuse() {
        refusing = true;
      },
      send(pdu) {
        for (const b of encodePdu(pdu, NO_DIGESTS)) socket!.write(b);
      },
      waitFor(n) {
        if (target.received.length >= n) return Promise.resolve();
        return new Promise((r) => waiters.push({ n, resolve: r }));
      },
      close: () =>
        new Promise((r) => {
          socket?.destroy();
          server.close(() => r());
        }),
    };
    const server = net.createServer((s) => {
      if (refusing) {
        s.destroy();
        return;
      }
      socket = s;
      target.connections++;
      const framer = new PduFramer({ headerDigest: false, dataDigest: false, maxDataSegmentLength: 1 << 20 });
      let loggedIn = false;
      let firstLogin = true;
      s.on("error", () => {});
      s.on("data", (chunk: Buffer) => {
        framer.push(chunk, {
          onPdu(pdu: Pdu) {
            if (!loggedIn && pdu.opcode === 0x03) {
              const req = pdu as LoginRequest;
              if (firstLogin) target.logins.push({ ...req, data: Buffer.from(req.data) });
              firstLogin = false;
              const final = req.csg === 1;
              const text = final ? opts.operational : "AuthMethod=None";
              target.send({
                opcode: 0x23,
                transit: true,
                cont: false,
                csg: req.csg,
                nsg: final ? 3 : 1,
                versionMax: 0,
                versionActive: 0,
                isid: req.isid,
                tsih: final ? 7 : 0,
                itt: req.itt,
                statSN: target.statSN++,
                expCmdSN: opts.expCmdSN,
                maxCmdSN: opts.maxCmdSN,
                statusClass: 0,
                statusDetail: 0,
                data: Buffer.from(text.split(" ").join("\0") + "\0"),
              });
              if (final) loggedIn = true;
              if (final && target.dropAfterLogin) setImmediate(() => s.resetAndDestroy());
              return;
            }
            const copy = (
              "data" in pdu ? { ...pdu, data: Buffer.from(pdu.data) } : { ...pdu }
            ) as InitiatorPdu;
            target.received.push(copy);
            for (const w of waiters.splice(0)) {
              if (target.received.length >= w.n) w.resolve();
              else waiters.push(w);
            }
          },
          onMalformed(err) {
            throw err;
          },
        });
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      target.port = typeof a === "object" && a ? a.port : 0;
      resolve(target);
    });
  });
}
