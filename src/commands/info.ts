/** `iscsi-bench info <iscsi://host[:port]/<iqn>/<lun>>`: what the LUN is and what was negotiated. */
import { readDeviceInfo } from "../initiator/device.js";
import { openSession } from "../initiator/session.js";
import { formatIscsiUrl } from "../iscsi/url.js";
import { formatDeviceInfo, infoJson } from "../report/device-info.js";
import { type CommonCliOptions, chapFromUrl, parseTargetUrl, resolveCommonOptions } from "./common.js";

export async function infoCommand(urlText: string, cli: CommonCliOptions): Promise<void> {
  const opts = resolveCommonOptions(cli);
  const url = parseTargetUrl(urlText, { target: true, lun: true }, cli.chapSecretFile);
  const targetName = url.targetName!;
  const lun = url.lun!;
  const session = await openSession({
    host: url.host,
    port: url.port,
    targetName,
    initiatorName: opts.initiatorName,
    chap: chapFromUrl(url),
    headerDigest: opts.headerDigest || url.headerDigest === true,
    dataDigest: opts.dataDigest,
    timeoutMs: opts.timeoutMs,
    nopIntervalMs: 0,
    commandTimeoutMs: opts.timeoutMs,
    // a one-shot query: a lost connection fails it with its cause, no 120 s of recovery
    recoveryTimeoutMs: 0,
  });
  try {
    const info = await readDeviceInfo(session, lun);
    await session.logout();
    const context = { url: formatIscsiUrl(url), targetName, lun, negotiated: session.negotiated };
    process.stdout.write(
      opts.json ? JSON.stringify(infoJson(info, context), null, 2) + "\n" : formatDeviceInfo(info, context),
    );
  } finally {
    session.close();
  }
}
