// The headline numbers (docs/headline-numbers.json) are stated the same everywhere: README.md's first screen,
// RESULTS.md's goals table and the built client page; each is the rounding of the measurement in its RESULTS.md
// section, so a new measurement cannot leave an old number on the page. RESULTS.md stays under 4,000 words.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { tempDir } from "../data/helpers.ts";

const numbers = JSON.parse(readFileSync("docs/headline-numbers.json", "utf8")) as Record<string, string>;
const readme = readFileSync("README.md", "utf8");
const results = readFileSync("RESULTS.md", "utf8");
const t = tempDir("ercnn-headline-");
after(t.cleanup);

/** The text of RESULTS.md's `## title` section (up to the next `## `). */
function section(title: string): string {
  const start = results.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `RESULTS.md has no section '## ${title}'`);
  const end = results.indexOf("\n## ", start + 1);
  return results.slice(start, end < 0 ? undefined : end);
}

/** The table row of `text` whose first cell starts with `first`, as cells. */
function row(text: string, first: string): string[] {
  const line = text.split("\n").find((l) => l.startsWith(`| ${first}`));
  assert.ok(line, `no table row starting '${first}'`);
  return line.split("|").map((c) => c.trim());
}

const num = (s: string) => Number(s.replace(/[^0-9.]/g, ""));
/** The measurements of a cell: its numbers with two decimals (the headline figures have one), in order. */
const dB = (s: string) => [...s.matchAll(/\d+\.\d\d\b/g)].map((m) => Number(m[0]));

test("README's first screen and RESULTS.md's goals table state every headline number", () => {
  const firstScreen = readme.slice(0, readme.indexOf("## Two commands")).replace(/\s+/g, " ");
  assert.ok(firstScreen.length > 0 && firstScreen.length < 3000, "the numbers come before the set-up");
  const goals = section("What was asked, and what was reached");
  for (const [name, value] of Object.entries(numbers)) {
    if (name.startsWith("$")) continue;
    assert.ok(goals.includes(value), `RESULTS.md's goals table lacks ${name} = ${value}`);
    if (name === "attackK16Worst6") continue; // the README's first screen gives the worst of 3, the goal's figure
    assert.ok(firstScreen.includes(value), `README's first screen lacks ${name} = ${value}`);
  }
  assert.match(
    firstScreen,
    new RegExp(`${numbers.attackK16}\\*\\* with k = 16 \\(worst of ${numbers.attackK16Keys} fresh`),
  );
});

test("each headline number is the rounding of the measurement in its RESULTS.md section", () => {
  // The CIFAR-10 record: the mean of the current pipeline's fresh-key runs, and the longest of their wall times.
  const record = section("Encrypted CIFAR-10 with airbench94")
    .split("\n")
    .filter((l) => /^\| encrypted, run \d/.test(l))
    .map((l) => l.split("|").map((c) => c.trim()));
  assert.ok(record.length >= 2, "the record is the mean of at least 2 fresh keys");
  const mean = record.reduce((s, r) => s + num(r[3]), 0) / record.length;
  assert.equal(numbers.cifar10Accuracy, `${mean.toFixed(2)}%`);
  assert.equal(numbers.cifar10Time, `${Math.max(...record.map((r) => num(r[4]))).toFixed(1)} min`);
  const parity = section("Encrypted vs plain on CIFAR-10 (k = 4)");
  assert.ok(row(parity, "encrypted, **BlockResNet-S**")[2].includes(numbers.parityEncrypted));
  assert.ok(row(parity, "**plain**, BlockResNet-S")[2].includes(numbers.parityPlain));

  // k = 4: the range runs from the worst fresh key to the demo's store.
  const k4 = section("Ciphertext-only attack");
  const lo = dB(row(k4, "5,000 CIFAR-10 training images, 3 fresh keys")[3])[0];
  const hi = dB(row(k4, "the demo's 8,000 CIFAR-10 training images")[3])[0];
  assert.equal(numbers.attackK4, `${Math.floor(lo)}–${Math.round(hi)} dB`);

  const big = section("The attack at larger blocks");
  const k8 = row(big, "8 ");
  assert.equal(numbers.attackK8, `${dB(k8[3])[0].toFixed(1)} dB`);
  assert.equal(numbers.attackK8Ssim, num(k8[4]).toFixed(2));
  const k16 = row(big, "16 | 25,000 (all of tiny50)");
  const keys = dB(k16[3]).slice(1); // the worst key first, then every key
  assert.equal(keys.length, Number(numbers.attackK16Keys));
  assert.equal(numbers.attackK16, `${Math.min(...keys).toFixed(1)} dB`);
  const more = dB(row(big, "16, three more keys")[3]).slice(1);
  assert.equal(numbers.attackK16Worst6, `${Math.min(...keys, ...more).toFixed(1)} dB`);

  const demo = section("The demo");
  assert.ok(row(demo, "wall time")[2].includes(numbers.demoTime));
});

test("the built page states the attack numbers and leaves no placeholder", () => {
  const out = join(t.dir, "web");
  const r = spawnSync(process.execPath, ["scripts/build-web.mjs", "--out", out], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(join(out, "index.html"), "utf8").replace(/\s+/g, " ");
  assert.doesNotMatch(html, /\{\{|\}\}/);
  assert.match(html, new RegExp(`k = 4 at <strong>${numbers.attackK4} PSNR</strong>`));
  assert.match(
    html,
    new RegExp(`k = 8 decrypts at <strong>${numbers.attackK8}</strong> \\(SSIM ${numbers.attackK8Ssim}`),
  );
  assert.match(
    html,
    new RegExp(`k = 16 at <strong>${numbers.attackK16}</strong> on the worst of ${numbers.attackK16Keys}`),
  );
  const pageDoc = readFileSync("docs/page.md", "utf8");
  const panel = pageDoc.slice(pageDoc.indexOf("## 4. What the provider sees"), pageDoc.indexOf("## Accessibility"));
  for (const k of ["attackK4", "attackK8", "attackK16"]) assert.ok(panel.includes(numbers[k]), `docs/page.md: ${k}`);
  assert.doesNotMatch(panel, /about 20 dB/);
});

test("RESULTS.md is at most 4,000 words", () => {
  const words = results.split(/\s+/).filter(Boolean).length;
  assert.ok(words <= 4000, `${words} words`);
});

test("the page's per-scheme 'What the provider sees' numbers are docs/schemes.md's measurements", () => {
  const main = readFileSync("web/main.ts", "utf8");
  // the record's text, its string literals joined
  const sees = main.slice(main.indexOf("const SEES"), main.indexOf("function showSees")).replace(/"\s*\+\s*"/g, "");
  const schemes = readFileSync("docs/schemes.md", "utf8");
  const stated = [...sees.matchAll(/(\d+(?:\.\d+)?) (dB|points)|from ([\d,]+) ciphertexts/g)];
  assert.ok(stated.length >= 7, `found only ${stated.length} numbers in web/main.ts's SEES`);
  for (const m of stated) {
    const figure = (m[3] ?? m[1]).replace(/[.,]/g, (c) => `\\${c}`);
    assert.match(
      schemes,
      new RegExp(`(^|[^\\d.,])${figure}(?![\\d]|[.,]\\d)`),
      `web/main.ts states '${m[0]}', which docs/schemes.md does not`,
    );
  }
});
