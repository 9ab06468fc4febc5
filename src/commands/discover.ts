/** `iscsi-bench discover <iscsi://host[:port]>`: SendTargets discovery, printed or as JSON. */

import { discoverTargets } from "../initiator/discovery.js";
import { formatTargets } from "../report/device-info.js";
import { type CommonCliOptions, chapFromUrl, parseTargetUrl, resolveCommonOptions } from "./common.js";

/** Runs discovery and writes the result to stdout. Throws InputError (bad input) or a runtime error. */
export async function discoverCommand(urlText: string, cli: CommonCliOptions): Promise<void> {
  const opts = resolveCommonOptions(cli);
  const url = parseTargetUrl(urlText, { target: false, lun: false }, cli.chapSecretFile);
  const targets = await discoverTargets({
    host: url.host,
    port: url.port,
    initiatorName: opts.initiatorName,
    chap: chapFromUrl(url),
    timeoutMs: opts.timeoutMs,
    headerDigest: opts.headerDigest || url.headerDigest === true,
    dataDigest: opts.dataDigest,
  });
  process.stdout.write(opts.json ? JSON.stringify(targets, null, 2) + "\n" : formatTargets(targets));
}
