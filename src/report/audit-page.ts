/**
 * The privacy audit as one self-contained HTML page (pictures inlined as PNG data URLs, no scripts, no external
 * files): the verdict first, then the pictures people look at, then the numbers, what they mean, and what would
 * change them. Pure string building; the audit (src/audit/) supplies the values and the pictures.
 */
import { escapeHtml } from "./html.ts";

export interface AuditPageRow {
  /** What is measured, in plain words. */
  measure: string;
  /** The value, formatted with its unit. */
  value: string;
  /** What the value means for the client. */
  meaning: string;
}

export interface AuditPage {
  title: string;
  /** One sentence: the verdict, without its level (printed before it as "LEVEL:"). */
  headline: string;
  level: "exposed" | "not shown safe" | "resisted this attack";
  /** Where the numbers come from (store, reference, key fingerprint, sizes, times). */
  facts: string[];
  /** The verdict's supporting lines (the same lines the terminal printed). */
  lines: string[];
  rows: AuditPageRow[];
  /** Per channel: the attack's own report. */
  channels: {
    channel: string;
    mismatch: string;
    solvedBy: string;
    confirmations: string;
    agreement: string;
    status: string;
  }[];
  pictures: { caption: string; png: Buffer }[];
  /** What would change the numbers. */
  levers: string[];
}

const COLOURS: Record<AuditPage["level"], string> = {
  exposed: "#b3261e",
  "not shown safe": "#a15c00",
  "resisted this attack": "#1b6e3a",
};

export function renderAuditPage(p: AuditPage): string {
  const e = escapeHtml;
  const table = (head: string[], body: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join("")}</tr></thead><tbody>${body
      .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(p.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
.verdict{border-left:8px solid ${COLOURS[p.level]};background:#f6f6f6;padding:.8em 1em;font-size:1.15em}
.verdict b{color:${COLOURS[p.level]}}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#fafafa}figure{margin:1.5em 0}img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}
figcaption{color:#555;font-size:.92em}.facts{color:#555;font-size:.92em}
</style></head><body>
<h1>${e(p.title)}</h1>
<p class="verdict" id="verdict"><b>${e(p.level.toUpperCase())}:</b> ${e(p.headline)}</p>
<ul>${p.lines.map((l) => `<li>${e(l)}</li>`).join("")}</ul>
${p.pictures
  .map(
    (pic) =>
      `<figure><img alt="${e(pic.caption)}" src="data:image/png;base64,${pic.png.toString("base64")}"><figcaption>${e(pic.caption)}</figcaption></figure>`,
  )
  .join("\n")}
<h2>The numbers and what they mean</h2>
${table(
  ["measure", "value", "what it means"],
  p.rows.map((r) => [r.measure, r.value, r.meaning]),
)}
<h2>The attack, channel by channel</h2>
${table(
  [
    "channel",
    "statistics mismatch (share)",
    "solved by",
    "independent starts (+ other channels) that agree",
    "near-best fits differ by",
    "status",
  ],
  p.channels.map((c) => [c.channel, c.mismatch, c.solvedBy, c.confirmations, c.agreement, c.status]),
)}
<h2>What would change these numbers</h2>
<ul>${p.levers.map((l) => `<li>${e(l)}</li>`).join("")}</ul>
<h2>Where the numbers come from</h2>
<ul class="facts">${p.facts.map((f) => `<li>${e(f)}</li>`).join("")}</ul>
</body></html>
`;
}
