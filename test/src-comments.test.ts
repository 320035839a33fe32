// Comments in src/ say what the code does and why, never its history: no citations of RESULTS.md (a measurement
// belongs in RESULTS.md, with its command, not copied into a comment where it goes stale) and no dates ("default
// until 2026-12", "changed 2026-11-30", "since March 2026"). The test collects every comment of every .ts file under
// src/ with the TypeScript compiler (so strings and regular expressions are not mistaken for comments) and fails
// naming the file, the line and the text.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const SRC = resolve(import.meta.dirname, "..", "src");
const MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December";

/** What a comment may not say, each with the reason the test gives. */
const FORBIDDEN: [RegExp, string][] = [
  [/RESULTS(\.md)?\b/, "cites RESULTS.md"],
  [/\b(19|20)\d\d-(0[1-9]|1[0-2])(-\d\d)?\b/, "carries a date"],
  [
    new RegExp(`\\b(${MONTHS}|(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?)( \\d{1,2},?)? (19|20)\\d\\d\\b`),
    "carries a date",
  ],
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every comment of a source text, once each, with its 1-based line. */
export function commentsOf(fileName: string, text: string): { line: number; text: string }[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const seen = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(text, node.pos));
    collect(ts.getTrailingCommentRanges(text, node.end));
    ts.forEachChild(node, visit);
  };
  visit(file);
  collect(ts.getLeadingCommentRanges(text, file.endOfFileToken.pos));
  return [...seen]
    .sort((a, b) => a[0] - b[0])
    .map(([pos, t]) => ({ line: file.getLineAndCharacterOfPosition(pos).line + 1, text: t }));
}

/** The comments of a source text that cite RESULTS.md or carry a date, as "line: reason: text". */
export function historyIn(fileName: string, text: string): string[] {
  return commentsOf(fileName, text).flatMap((c) =>
    FORBIDDEN.filter(([re]) => re.test(c.text)).map(([, why]) => `${c.line}: ${why}: ${c.text.trim().slice(0, 120)}`),
  );
}

test("the check finds citations and dates in comments, not in strings or code", () => {
  const text = [
    "// the default until 2026-12 (RESULTS.md, 'k = 8')",
    'const help = "written 2026-12-07; see RESULTS.md";',
    "/** Measured in March 2026. */",
    "export function f(x: number) {",
    "  return x / 2026 - 12; // fine: 2026 - 12 is arithmetic",
    "}",
    "const re = /RESULTS/; // Dec. 7, 2026",
  ].join("\n");
  assert.deepEqual(
    historyIn("a.ts", text).map((s) => s.split(":").slice(0, 2).join(":")),
    ["1: cites RESULTS.md", "1: carries a date", "3: carries a date", "7: carries a date"],
  );
});

test("no comment in src/ cites RESULTS.md or carries a date", () => {
  const found = tsFiles(SRC).flatMap((p) =>
    historyIn(p, readFileSync(p, "utf8")).map((s) => `src/${relative(SRC, p)}:${s}`),
  );
  assert.deepEqual(found, [], "comments say what and why; the history belongs in git and RESULTS.md");
});
