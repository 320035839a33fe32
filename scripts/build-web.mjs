// Builds the client page (web/) into dist/web/: esbuild bundles web/main.ts and web/worker.ts for the browser
// (platform "browser": an accidental import of Node-only code fails the build), copies style.css, and writes
// index.html with its {{name}} placeholders filled from docs/headline-numbers.json (the numbers README.md and
// RESULTS.md state; an unknown name fails the build).
// Usage: node scripts/build-web.mjs [--out DIR] [--watch]
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIdx = args.indexOf("--out");
const out = outIdx >= 0 ? resolve(args[outIdx + 1]) : join(root, "dist", "web");
const watch = args.includes("--watch");

const t0 = performance.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
copyFileSync(join(root, "web", "style.css"), join(out, "style.css"));
const numbers = JSON.parse(readFileSync(join(root, "docs", "headline-numbers.json"), "utf8"));
const html = readFileSync(join(root, "web", "index.html"), "utf8").replace(/\{\{(\w+)\}\}/g, (_, name) => {
  if (typeof numbers[name] !== "string") {
    console.error(`build-web: web/index.html names {{${name}}}, which docs/headline-numbers.json does not define`);
    process.exit(1);
  }
  return numbers[name];
});
writeFileSync(join(out, "index.html"), html);
const options = {
  entryPoints: { main: join(root, "web", "main.ts"), worker: join(root, "web", "worker.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome111", "firefox115", "safari16.4"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
};
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`build-web: watching, writing ${out}`);
} else {
  const r = await esbuild.build(options);
  const bytes = Object.entries(r.metafile.outputs)
    .filter(([f]) => f.endsWith(".js"))
    .map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(0)} KB`);
  console.log(`build-web: ${out} (${bytes.join(", ")}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
