/** The few HTML helpers of the report: escaping and tables whose cells are already HTML. */

/** Escapes text for an element or a double-quoted attribute. */
export function esc(text: string | number): string {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export interface TableSpec {
  caption?: string;
  head: string[];
  /** Cells as HTML (escape text with esc()). */
  rows: string[][];
  /** Columns aligned right (numbers). */
  numeric?: number[];
  /** A class per row ("" for none). */
  rowClass?: string[];
  className?: string;
}

export function table(t: TableSpec): string {
  const num = new Set(t.numeric ?? []);
  const cell = (tag: "th" | "td", c: string, i: number): string =>
    `<${tag}${num.has(i) ? ' class="num"' : ""}${tag === "th" ? ' scope="col"' : ""}>${c}</${tag}>`;
  const rows = t.rows.map((r, k) => {
    const cls = t.rowClass?.[k] ? ` class="${t.rowClass[k]}"` : "";
    return `<tr${cls}>${r.map((c, i) => cell("td", c, i)).join("")}</tr>`;
  });
  return [
    `<div class="table-wrap"><table${t.className ? ` class="${t.className}"` : ""}>`,
    t.caption ? `<caption>${t.caption}</caption>` : "",
    `<thead><tr>${t.head.map((h, i) => cell("th", h, i)).join("")}</tr></thead>`,
    `<tbody>${rows.join("")}</tbody></table></div>`,
  ].join("");
}

/** A bulleted list of HTML items, or "" when there are none. */
export function list(items: string[], className = "notes"): string {
  return items.length === 0
    ? ""
    : `<ul class="${className}">${items.map((i) => `<li>${i}</li>`).join("")}</ul>`;
}
