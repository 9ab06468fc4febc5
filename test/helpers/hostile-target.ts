/**
 * A hostile iSCSI target for tests: a raw TCP server on 127.0.0.1 (port 0) that, per connection,
 * either completes a real login (the built-in target's sans-IO TargetLogin, no digests) and then
 * hands every initiator PDU to a script, or hands the script the login requests themselves. The
 * script then misbehaves: garbage, truncated PDUs, impossible lengths, unknown tags, wild StatSNs,
 * undefined opcodes, silence. Every connection of a session (recovery logs in again) gets the
 * same script, with its index.
 */
import net from "node:net";
import { encodePdu } from "../../src/iscsi/encode.js";
import { PduFramer } from "../../src/iscsi/framer.js";
import type { OperationalParams } from "../../src/iscsi/params.js";
import {
  type InitiatorPdu,
  type LoginRequest,
  Opcode,
  type Pdu,
  type TargetPdu,
} from "../../src/iscsi/pdu.js";
import { createAcl } from "../../src/target/acl.js";
import { TARGET_POLICY } from "../../src/target/options.js";
import { TargetLogin } from "../../src/target/target-login.js";

const NO_DIGESTS = { headerDigest: false, dataDigest: false };

export const HOSTILE_IQN = "iqn.2026-11.io.iscsi-bench:hostile";

/** One accepted connection, as the script sees it. */
export interface HostilePeer {
  /** 0 for the first connection the server accepted, 1 for the next, ... */
  readonly index: number;
  /** Negotiated parameters once login completed (null before, or with `login: false`). */
  negotiated: OperationalParams | null;
  /** Sends a PDU (no digests). */
  send(pdu: TargetPdu): void;
  /** Sends raw bytes. */
  sendRaw(bytes: Buffer): void;
  /** The StatSN to put in the next status PDU (and advances it). */
  nextStatSN(): number;
  /** The StatSN the next status PDU would carry (without advancing). */
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
  /** Ends the connection after what was sent (FIN). */
  end(): void;
  /** Drops the connection now (RST-like destroy). */
  destroy(): void;
}

export interface HostileScript {
  /** Complete a real login before the script sees anything (default true). */
  login?: boolean;
  /** Once per connection: after login (or on accept with `login: false`). */
  onReady?(peer: HostilePeer): void;
  /** Each initiator PDU after login (with `login: false`: from the first Login Request on). */
  onPdu?(pdu: InitiatorPdu, peer: HostilePeer): void;
}

export interface HostileTarget {
  readonly port: number;
  readonly iqn: string;
  /** iscsi://127.0.0.1:<port>/<iqn>/<lun> */
  url(lun?: number): string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Opcodes the initiator sent, in order, over all connections (login requests included). */
  readonly opcodes: number[];
  close(): Promise<void>;
}

/** A copy of a decoded PDU whose data outlives the framer's buffer. */
function keep(pdu: Pdu): InitiatorPdu {
  return ("data" in pdu ? { ...pdu, data: Buffer.from(pdu.data) } : { ...pdu }) as InitiatorPdu;
}

export function startHostileTarget(script: HostileScript): Promise<HostileTarget> {
  const sockets = new Set<net.Socket>();
  const opcodes: number[] = [];
  let accepted = 0;
  let nextTsih = 1;

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // the initiator may reset; the script decides what matters
    socket.setNoDelay(true);
    let statSN = 1;
    let expCmdSN = 0;
    let maxCmdSN = 0;
    let inLogin = script.login !== false;
    const login = new TargetLogin({
      targetName: HOSTILE_IQN,
      chap: null,
      mutualChap: null,
      acl: createAcl([]),
      policy: { ...TARGET_POLICY, headerDigest: false, dataDigest: false },
      portalGroupTag: 1,
      admission: { admit: () => ({ tsih: nextTsih++ }) },
    });
    const peer: HostilePeer = {
      index: accepted++,
      negotiated: null,
      send(pdu) {
        if (socket.destroyed) return;
        for (const b of encodePdu(pdu, NO_DIGESTS)) socket.write(b);
      },
      sendRaw(bytes) {
        if (!socket.destroyed) socket.write(bytes);
      },
      nextStatSN() {
        const s = statSN;
        statSN = (statSN + 1) >>> 0;
        return s;
      },
      get statSN() {
        return statSN;
      },
      get expCmdSN() {
        return expCmdSN;
      },
      get maxCmdSN() {
        return maxCmdSN;
      },
      end() {
        socket.end();
      },
      destroy() {
        socket.destroy();
      },
    };
    const framer = new PduFramer({ ...NO_DIGESTS, maxDataSegmentLength: 0xffffff });
    const onLoginRequest = (req: LoginRequest): void => {
      if (expCmdSN === 0 && maxCmdSN === 0) {
        expCmdSN = req.cmdSN;
        maxCmdSN = (req.cmdSN + 31) >>> 0;
      }
      const step = login.handle(req);
      const res = step.response;
      res.statSN = peer.nextStatSN();
      res.expCmdSN = expCmdSN;
      res.maxCmdSN = maxCmdSN;
      peer.send(res);
      if (step.kind === "fail") socket.end();
      if (step.kind === "complete") {
        inLogin = false;
        peer.negotiated = step.params;
        if (step.params.headerDigest || step.params.dataDigest) {
          throw new Error("hostile target: digests were negotiated; the harness speaks none");
        }
        script.onReady?.(peer);
      }
    };
    const sink = {
      onPdu(pdu: Pdu) {
        opcodes.push(pdu.opcode);
        if (inLogin) {
          if (pdu.opcode === Opcode.LoginRequest) onLoginRequest(pdu as LoginRequest);
          return;
        }
        if (pdu.opcode === Opcode.ScsiCommand || pdu.opcode === Opcode.NopOut) {
          const cmd = pdu as { immediate: boolean; cmdSN: number };
          if (!cmd.immediate && cmd.cmdSN === expCmdSN) {
            expCmdSN = (expCmdSN + 1) >>> 0;
            maxCmdSN = (maxCmdSN + 1) >>> 0;
          }
        }
        script.onPdu?.(keep(pdu), peer);
      },
      onMalformed() {
        socket.destroy();
      },
    };
    socket.on("data", (chunk: Buffer) => {
      try {
        framer.push(chunk, sink);
      } catch {
        socket.destroy();
      }
    });
    if (script.login === false) script.onReady?.(peer);
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      resolve({
        port,
        iqn: HOSTILE_IQN,
        url: (lun = 0) => `iscsi://127.0.0.1:${port}/${HOSTILE_IQN}/${lun}`,
        get connections() {
          return accepted;
        },
        opcodes,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
