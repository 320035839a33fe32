// `ercnn audit` with a block-scrambling key: it runs the eavesdropper's jigsaw first, says so in a "Block scrambling"
// line whose number is the JSON's and the page's, measures the attack on the reassembly, and never shows the
// scrambling seed (a secret like the matrices).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { tempDir } from "../data/helpers.ts";
import { smoothImages } from "./images.ts";

const t = tempDir("ercnn-audit-scramble-");
after(t.cleanup);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8", env: { ...process.env } });
const key = join(t.dir, "key.json");
const enc = join(t.dir, "enc");
const refFolder = join(t.dir, "ref");
const SIZE = 24;

async function writePhotos(root: string, seed: number, n: number): Promise<void> {
  const x = smoothImages(n, 3, SIZE, seed);
  for (const c of ["a", "b"]) mkdirSync(join(root, c), { recursive: true });
  for (let i = 0; i < n; i++) {
    const rgb = Buffer.alloc(SIZE * SIZE * 3);
    for (let p = 0; p < SIZE * SIZE; p++)
      for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = Math.round(x[(i * 3 + ch) * SIZE * SIZE + p] * 255);
    await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .png()
      .toFile(join(root, i % 2 ? "a" : "b", `${i}.png`));
  }
}

before(async () => {
  const src = join(t.dir, "photos");
  await writePhotos(src, 41, 200);
  await writePhotos(refFolder, 42, 200);
  for (const args of [
    ["keygen", "-b", "4", "--scramble", "-o", key, "--seed", "audit-scramble"],
    ["encrypt", src, "-k", key, "-o", enc],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 0, r.stderr);
  }
});

test("audit of a scrambled store: the jigsaw's line, the same number in the JSON and the page, no seed shown", () => {
  const page = join(t.dir, "audit.html");
  const json = join(t.dir, "audit.json");
  const r = cli(
    "audit",
    enc,
    "--reference",
    refFolder,
    "--key",
    key,
    "-o",
    page,
    "--json",
    json,
    "--pool",
    "100",
    "--measured",
    "40",
    "--recogniser-epochs",
    "0",
    "--restarts",
    "2",
    "--iterations",
    "300",
    "-q",
  );
  assert.equal(r.status, 0, r.stderr);
  // The jigsaw reads the whole store's 200 ciphertexts, not only the 100 of the re-identification pool.
  const m = r.stdout.match(
    /Block scrambling: .* jigsaw \(statistics of 200 ciphertexts, no key, \d+ s\) put (\d+\.\d)% of the positions back/,
  );
  assert.ok(m, r.stdout);
  const j = JSON.parse(readFileSync(json, "utf8"));
  assert.equal((100 * j.scramble.correct).toFixed(1), m[1]);
  assert.ok(j.scramble.correct >= 0.9, `jigsaw ${m[1]}%`);
  const html = readFileSync(page, "utf8");
  assert.ok(html.includes("block scrambling: positions reassembled (no key)"));
  assert.ok(html.includes(`${m[1]}% of the positions right`));
  const seed = JSON.parse(readFileSync(key, "utf8")).scramble.seed as string;
  for (const out of [r.stdout, r.stderr, html, readFileSync(json, "utf8")]) assert.ok(!out.includes(seed));
});
