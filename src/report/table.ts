/**
 * Results tables as CSV (RFC 4180: CRLF line ends, fields containing `,` `"` CR or LF are quoted, quotes doubled)
 * and as GitHub-flavoured Markdown (pipes and backslashes escaped, newlines turned into <br>).
 */

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;

export interface Column {
  key: string;
  /** Header text (default: the key). */
  title?: string;
  /** Cell formatter (default: formatCell). */
  format?: (v: Cell, row: Row) => string;
  /** Markdown alignment (default: right for columns whose values are all numbers, else left). */
  align?: "left" | "right" | "center";
}

export type ColumnSpec = string | Column;

/** Default cell text: "" for null/undefined/NaN, numbers with up to 6 significant digits (integers as is). */
export function formatCell(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(6)));
  }
  return String(v);
}

function normalizeColumns(rows: readonly Row[], columns?: readonly ColumnSpec[]): Column[] {
  if (columns) return columns.map((c) => (typeof c === "string" ? { key: c } : c));
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return keys.map((key) => ({ key }));
}

function cellText(col: Column, row: Row): string {
  return col.format ? col.format(row[col.key], row) : formatCell(row[col.key]);
}

/** One CSV field, quoted when needed (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text with a header line; columns default to the union of the rows' keys in first-seen order. */
export function toCsv(rows: readonly Row[], columns?: readonly ColumnSpec[]): string {
  const cols = normalizeColumns(rows, columns);
  const lines = [cols.map((c) => csvField(c.title ?? c.key)).join(",")];
  for (const r of rows) lines.push(cols.map((c) => csvField(cellText(c, r))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** Escape text for a GitHub Markdown table cell. */
export function markdownCell(s: string): string {
  return s
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/\r\n|\r|\n/g, "<br>");
}

/** GitHub Markdown table; numeric columns right-aligned. */
export function toMarkdown(rows: readonly Row[], columns?: readonly ColumnSpec[]): string {
  const cols = normalizeColumns(rows, columns);
  if (cols.length === 0) return "";
  const align = cols.map((c) => {
    if (c.align) return c.align;
    const vals = rows.map((r) => r[c.key]).filter((v) => v !== null && v !== undefined);
    return vals.length > 0 && vals.every((v) => typeof v === "number") ? "right" : "left";
  });
  const sep = align.map((a) => (a === "right" ? "---:" : a === "center" ? ":---:" : "---"));
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const out = [line(cols.map((c) => markdownCell(c.title ?? c.key))), line(sep)];
  for (const r of rows) out.push(line(cols.map((c) => markdownCell(cellText(c, r)))));
  return `${out.join("\n")}\n`;
}
