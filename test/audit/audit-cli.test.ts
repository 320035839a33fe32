// `ercnn audit`: the client's one command. On greyscale scans (R = G = B, flat backgrounds) with a folder of other
// scans as the reference, it prints a verdict, writes a self-contained HTML page that holds the numbers it printed
// (and the JSON the same numbers), never prints the key, and refuses careless inputs with clear errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { tempDir } from "../data/helpers.ts";
import { greyscaleScans } from "./images.ts";

const t = tempDir("ercnn-audit-");
after(t.cleanup);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8", env: { ...process.env } });
const key = join(t.dir, "key.json");
const enc = join(t.dir, "enc");
const plainStore = join(t.dir, "plain");
const refFolder = join(t.dir, "ref");
const CLASSES = ["discs", "squares", "rings"];

async function writeScans(root: string, seed: number, n: number): Promise<void> {
  const size = 16;
  const { x, labels } = greyscaleScans(n, 1, size, seed, CLASSES.length);
  for (const c of CLASSES) mkdirSync(join(root, c), { recursive: true });
  for (let i = 0; i < n; i++) {
    const rgb = Buffer.alloc(size * size * 3);
    for (let p = 0; p < size * size; p++) rgb.fill(Math.round(x[i * size * size + p] * 255), p * 3, p * 3 + 3);
    await sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(join(root, CLASSES[labels[i]], `${i}.png`));
  }
}

before(async () => {
  const src = join(t.dir, "scans");
  await writeScans(src, 31, 150);
  await writeScans(refFolder, 32, 150);
  for (const args of [
    ["keygen", "-b", "2", "-o", key, "--seed", "audit-cli"],
    ["encrypt", src, "-k", key, "-o", enc],
    ["encrypt", src, "--plain", "-o", plainStore],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 0, r.stderr);
  }
});

test("audit prints a verdict and writes a page and JSON holding the same numbers", () => {
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
    "150",
    "--measured",
    "40",
    "--recogniser-epochs",
    "2",
    "--restarts",
    "3",
    "-q",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^(EXPOSED|NOT SHOWN SAFE|RESISTED THIS ATTACK):/);
  const psnr = r.stdout.match(/PSNR (\d+\.\d) dB, SSIM (\d\.\d{3}); re-identified (\d+\.\d)% among 150/);
  assert.ok(psnr, r.stdout);
  const recog = r.stdout.match(/right on (\d+\.\d)% of the decryptions vs (\d+\.\d)% of the plaintexts/);
  assert.ok(recog, r.stdout);
  assert.match(r.stdout, /trained on \d+ plain reference images of the store's 3 classes/);
  assert.match(r.stdout, /Without any attack: \d+\.\d% of the blocks are flat/);
  const html = readFileSync(page, "utf8");
  // the page shows what the terminal printed, and stands alone
  for (const s of [psnr[1], psnr[2], `${psnr[3]}%`, `${recog[1]}%`, `${recog[2]}%`]) assert.ok(html.includes(s), s);
  assert.ok(
    html.includes(
      r.stdout
        .split("\n")[0]
        .replace(/^[A-Z ]+: /, "")
        .slice(0, 40)
        .replace(/'/g, "&#39;"),
    ),
  );
  // the level once, as the badge, not again at the start of the headline
  const level = r.stdout.match(/^([A-Z ]+): /)![1];
  assert.ok(html.includes(`<b>${level}:</b> ${r.stdout.split("\n")[0].slice(level.length + 2, level.length + 22)}`));
  assert.ok(!html.includes(`<b>${level}:</b> ${level}:`), "the level repeated in the headline");
  assert.equal((html.match(/<img /g) ?? []).length, 2);
  assert.doesNotMatch(html, /src="(https?:|\/)/);
  const j = JSON.parse(readFileSync(json, "utf8"));
  assert.equal(j.measures.psnr.toFixed(1), psnr[1]);
  assert.equal(j.measures.ssim.toFixed(3), psnr[2]);
  assert.equal(j.measures.reid.pool, 150);
  assert.equal(j.channels.length, 3);
  // R = G = B: the attack sees the channels tied
  assert.ok(j.channels.slice(1).every((c: { tiedTo: number | null }) => c.tiedTo !== null));
  assert.equal(j.referenceKind, "folder");
  assert.equal(j.energyRelations, false, "second-order relations only below k = 8 unless asked");
  // the key stays secret: neither its values nor the file contents appear
  const keyValues = JSON.parse(readFileSync(key, "utf8")).values as number[] | undefined;
  for (const out of [r.stdout, r.stderr, html, readFileSync(json, "utf8")]) {
    assert.doesNotMatch(out, /"values"/);
    if (keyValues) assert.ok(!out.includes(String(keyValues[0])));
  }
  assert.ok(statSync(page).size > 1000);
});

test("audit refuses a missing key, a plain store, a missing reference and a wrong key", () => {
  let r = cli("audit", enc, "--reference", refFolder, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--key/);
  r = cli("audit", plainStore, "--reference", refFolder, "--key", key, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not encrypted/);
  r = cli("audit", enc, "--reference", join(t.dir, "nope"), "--key", key, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /reference .*nope does not exist/);
  const other = join(t.dir, "other.json");
  assert.equal(cli("keygen", "-b", "2", "-o", other, "--seed", "other").status, 0);
  r = cli("audit", enc, "--reference", refFolder, "--key", other, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /key/i);
});

test("audit --energy adds the energy-weighted relations to the attack and says so", () => {
  const page = join(t.dir, "audit-energy.html");
  const json = join(t.dir, "audit-energy.json");
  const args = ["audit", enc, "--reference", refFolder, "--key", key, "--pool", "150", "--measured", "40"];
  const r = cli(...args, "--recogniser-epochs", "0", "--energy", "-o", page, "--json", json, "-q");
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(readFileSync(json, "utf8"));
  assert.equal(j.energyRelations, true);
  assert.match(r.stdout, /second- and fourth-order \(energy-weighted\) statistics/);
  assert.ok(readFileSync(page, "utf8").includes("second-order and energy-weighted relations"));
  // the relations change the objective the attack reports per channel
  const plain = JSON.parse(readFileSync(join(t.dir, "audit.json"), "utf8"));
  assert.notEqual(j.channels[0].loss, plain.channels[0].loss);
});
