/** A JSON path as messages name it: jobs[0].queueDepth, summary.read.histogram, blockSize["4KiB"]. */
export type PathPart = string | number;

export function formatJsonPath(path: readonly PathPart[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}
