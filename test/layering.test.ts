// Layering: every folder under src/ imports only from folders below it (cli on top; core at the bottom). The test
// reads the import specifiers of every .ts file under src/ (static imports, re-exports and dynamic import()), and
// fails naming the file, the import and the two layers when a folder reaches up or sideways.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "..", "src");

/**
 * The layers, bottom first; folders on one line are independent of each other (neither imports the other).
 * report sits below train: the trainer's run directory and the sweep write reports, and report needs nothing of
 * train's.
 */
export const LAYERS: string[][] = [
  ["core"],
  ["torch", "cipher"],
  ["data"],
  ["attack"],
  ["models"],
  ["report"],
  ["train"],
  ["audit", "serve"],
  ["cli"],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative specifiers imported by a source text (import … from, export … from, import(), side-effect import). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const re of [
    /\bfrom\s+["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /^\s*import\s+["']([^"']+)["']/gm,
  ])
    for (const m of code.matchAll(re)) if (m[1].startsWith(".")) out.push(m[1]);
  return out;
}

/** The top folder under src/ of a path, or null for files directly in src/ or outside it. */
function layerOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith("..") || !rel.includes(sep)) return null;
  return rel.split(sep)[0];
}

/** The imports of `file` (with source `text`) that reach up or sideways, as "file: 'spec' (from → to: why)". */
export function violations(file: string, text: string): string[] {
  const bad: string[] = [];
  const from = layerOf(file);
  if (from === null) return bad;
  for (const spec of importsOf(text)) {
    const to = layerOf(resolve(dirname(file), spec));
    if (to === null || to === from) continue;
    const rf = rank.get(from);
    const rt = rank.get(to);
    const where = `${relative(SRC, file)}: '${spec}' (${from} → ${to}`;
    if (rf === undefined || rt === undefined) bad.push(`${where}: a folder not in LAYERS)`);
    else if (rt >= rf) bad.push(`${where}: ${rt > rf ? "a layer above" : "the same layer"})`);
  }
  return bad;
}

test("every folder under src/ is in the layer order", () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  const missing = folders.filter((f) => !rank.has(f));
  assert.deepEqual(missing, [], `add these folders to LAYERS in test/layering.test.ts: ${missing.join(", ")}`);
});

test("no folder under src/ imports from a folder above it or beside it", () => {
  const bad = tsFiles(SRC).flatMap((f) => violations(f, readFileSync(f, "utf8")));
  assert.deepEqual(bad, [], `layering violations:\n${bad.join("\n")}`);
});

test("the import reader finds every form, so the check can fail", () => {
  const text = [
    'import { a } from "../cli/x.ts";',
    'export * from "../serve/y.ts";',
    "const m = await import('../train/z.ts');",
    'import "../report/side.ts";',
    '// import { no } from "../cli/commented.ts";',
    'import { pkg } from "commander";',
  ].join("\n");
  assert.deepEqual(importsOf(text), ["../cli/x.ts", "../serve/y.ts", "../train/z.ts", "../report/side.ts"]);
  const inTrain = join(SRC, "train", "fake.ts");
  assert.deepEqual(
    violations(inTrain, text).map((v) => v.replace(/^.*\((.*)\)$/, "$1")),
    ["train → cli: a layer above", "train → serve: a layer above"],
  );
  assert.deepEqual(violations(join(SRC, "torch", "fake.ts"), 'import { x } from "../cipher/key.ts";').length, 1);
  assert.deepEqual(violations(join(SRC, "cli", "fake.ts"), text), []);
});

test("package.json exports only paths that exist", () => {
  const root = resolve(import.meta.dirname, "..");
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, string> };
  for (const [name, target] of Object.entries(pkg.exports)) {
    const files = target.includes("*")
      ? readdirSync(join(root, dirname(target))).filter((f) => f.endsWith(".ts"))
      : [target];
    assert.ok(files.length > 0, `${name}: ${target} matches no file`);
    for (const f of files)
      assert.ok(statSync(join(root, target.includes("*") ? dirname(target) : "", f)).isFile(), `${name}: ${f}`);
  }
});

test("outside src/cipher, the shared numerics (npy, linalg, rng) are imported from src/core, not through cipher", () => {
  const core = ["npy", "linalg", "rng"].flatMap((m) =>
    [
      ...readFileSync(join(SRC, "core", `${m}.ts`), "utf8").matchAll(
        /export (?:async )?(?:function|const|class|type|interface) (\w+)/g,
      ),
    ].map((x) => x[1]),
  );
  assert.ok(core.includes("readNpy") && core.includes("mulberry32"), "core's exports are read");
  const bad = tsFiles(SRC)
    .filter((f) => layerOf(f) !== "cipher")
    .flatMap((f) => {
      const text = readFileSync(f, "utf8");
      return [
        ...text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*["']([^"']*\/cipher\/index\.ts)["']/g),
      ].flatMap((m) =>
        m[1]
          .split(",")
          .map(
            (n) =>
              n
                .replace(/\btype\b/, "")
                .trim()
                .split(/\s+as\s+/)[0],
          )
          .filter((n) => core.includes(n))
          .map((n) => `${relative(SRC, f)}: ${n}`),
      );
    });
  assert.deepEqual(bad, [], `import these from src/core:\n${bad.join("\n")}`);
});
