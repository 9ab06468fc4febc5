/**
 * Login redirection (RFC 7143 6.2 / 11.13.5, status class 1): a portal that answers every login
 * with "target moved temporarily" and a TargetAddress, and the real built-in target behind it.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSession } from "../../src/initiator/session.js";
import { encodePdu } from "../../src/iscsi/encode.js";
import { PduFramer } from "../../src/iscsi/framer.js";
import { type LoginRequest, Opcode, type Pdu } from "../../src/iscsi/pdu.js";
import { buildText } from "../../src/iscsi/text.js";
import { type RunningTarget, startTargetInProcess } from "../../src/target/index.js";

const IQN = "iqn.2026-11.io.iscsi-bench:redirect-test";
const INITIATOR = "iqn.2026-11.io.iscsi-bench:redirect-initiator";

/** A portal that redirects each login to `to()` and counts the logins it saw. */
function startRedirector(
  to: () => string,
): Promise<{ port: number; logins: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const state = {
      port: 0,
      logins: 0,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
    const server = net.createServer((socket) => {
      const framer = new PduFramer({ headerDigest: false, dataDigest: false, maxDataSegmentLength: 8192 });
      socket.on("data", (chunk: Buffer) =>
        framer.push(chunk, {
          onPdu(pdu: Pdu) {
            if (pdu.opcode !== Opcode.LoginRequest) return;
            const req = pdu as LoginRequest;
            state.logins++;
            const rsp = encodePdu(
              {
                opcode: Opcode.LoginResponse,
                transit: false,
                cont: false,
                csg: req.csg,
                nsg: 0,
                versionMax: 0,
                versionActive: 0,
                isid: req.isid,
                tsih: 0,
                itt: req.itt,
                statSN: 0,
                expCmdSN: req.cmdSN,
                maxCmdSN: req.cmdSN,
                statusClass: 1, // redirection
                statusDetail: 1, // target moved temporarily
                data: buildText([["TargetAddress", to()]]),
              },
              { headerDigest: false, dataDigest: false },
            );
            for (const b of rsp) socket.write(b);
            socket.end();
          },
          onMalformed() {},
        }),
      );
      socket.on("error", () => {});
    });
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      state.port = typeof a === "object" && a ? a.port : 0;
      resolve(state);
    });
  });
}

describe("login redirection", () => {
  let target: RunningTarget;
  beforeAll(async () => {
    target = await startTargetInProcess({
      port: 0,
      iqn: IQN,
      luns: [{ kind: "memory", sizeBytes: 1 << 20 }],
    });
  });
  afterAll(async () => {
    await target.stop();
  });

  it("follows a redirect to the portal named in TargetAddress and logs in there", async () => {
    const portal = await startRedirector(() => `127.0.0.1:${target.port},1`);
    try {
      const s = await openSession({
        host: "127.0.0.1",
        port: portal.port,
        targetName: IQN,
        initiatorName: INITIATOR,
        nopIntervalMs: 0,
      });
      expect(portal.logins).toBe(1);
      expect(s.targetName).toBe(IQN);
      expect(s.tsih).toBeGreaterThan(0);
      const r = await s.execute(0, Buffer.from([0, 0, 0, 0, 0, 0])); // TEST UNIT READY
      expect(r.status).toBe(0);
      await s.logout();
    } finally {
      await portal.close();
    }
  });

  it("gives up on a redirect loop with a plain message", async () => {
    let self = 0;
    const portal = await startRedirector(() => `127.0.0.1:${self},1`);
    self = portal.port;
    try {
      await expect(
        openSession({
          host: "127.0.0.1",
          port: portal.port,
          targetName: IQN,
          initiatorName: INITIATOR,
          nopIntervalMs: 0,
        }),
      ).rejects.toThrow(/login redirected more than \d+ times/);
      expect(portal.logins).toBeGreaterThan(1);
    } finally {
      await portal.close();
    }
  });
});
