// No function in src/ is longer than 100 lines: a function that long holds more than one idea, and its steps read
// better as named functions. The test parses every .ts file under src/ with the TypeScript compiler and measures
// each function-like node (declarations, methods, constructors, accessors, function expressions and arrow functions)
// from its first line to its last, its own comments excluded; a nested function counts inside its parent too. It
// fails naming the file, the line and the function.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const SRC = resolve(import.meta.dirname, "..", "src");
export const MAX_LINES = 100;

/**
 * Functions allowed to be longer, each with its reason. The pickle interpreter's loop is one `switch` over the
 * opcodes of the pickle format: splitting it would scatter one table across functions.
 */
const ALLOWED = new Map<string, string>([["models/pth.ts:unpickle", "one switch over the pickle opcodes"]]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/** A readable name for a function-like node: its own name, or the variable/property/class member it is bound to. */
function nameOf(node: ts.SignatureDeclaration, file: ts.SourceFile): string {
  const own = (node as { name?: ts.PropertyName }).name;
  if (own) {
    const cls = ts.isClassLike(node.parent) && node.parent.name ? `${node.parent.name.text}.` : "";
    return cls + own.getText(file);
  }
  if (ts.isConstructorDeclaration(node) && ts.isClassLike(node.parent) && node.parent.name) {
    return `${node.parent.name.text}.constructor`;
  }
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) {
    return p.name.getText(file);
  }
  const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
  return `(anonymous function at line ${line + 1})`;
}

export interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

/** Every function-like node in a source text longer than `max` lines. */
export function longFunctions(fileName: string, text: string, max = MAX_LINES): LongFunction[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) out.push({ file: fileName, line: first + 1, name: nameOf(node, file), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

test("the measure counts a function's lines, nested ones and arrow functions included", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join("\n");
  // 2 + 99 lines: 101 in all, one too many; 2 + 98: exactly 100, allowed.
  const long = `function tooLong() {\n${body(99)}\n}\n`;
  const ok = `export const fine = () => {\n${body(98)}\n};\n`;
  const nested = `class A {\n  run() {\n    const inner = function () {\n${body(101)}\n    };\n  }\n}\n`;
  assert.deepEqual(longFunctions("a.ts", long), [{ file: "a.ts", line: 1, name: "tooLong", lines: 101 }]);
  assert.deepEqual(longFunctions("b.ts", ok), []);
  assert.deepEqual(
    longFunctions("c.ts", nested).map((f) => `${f.name}:${f.lines}`),
    ["A.run:105", "inner:103"],
  );
});

test(`no function in src/ is longer than ${MAX_LINES} lines`, () => {
  const found = tsFiles(SRC)
    .flatMap((p) => longFunctions(relative(SRC, p), readFileSync(p, "utf8")))
    .filter((f) => !ALLOWED.has(`${f.file}:${f.name}`));
  assert.deepEqual(
    found.map((f) => `src/${f.file}:${f.line} ${f.name} is ${f.lines} lines`),
    [],
    "split these into named steps",
  );
});
