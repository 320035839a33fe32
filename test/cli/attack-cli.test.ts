// `ercnn attack`: the ciphertext-only attack from the command line: the estimate is a key file (mode 0600) that
// ercnn can load, the measurement line appears only with --eval-key, and wrong inputs get clear errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { loadKey } from "../../src/data/keyfile.ts";
import { lcg } from "../audit/images.ts";
import { makeFolder, tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-attack-");
after(t.cleanup);
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
const key = join(t.dir, "key.json");
const enc = join(t.dir, "enc");
const plain = join(t.dir, "plain");

before(async () => {
  const src = join(t.dir, "ds");
  await makeFolder(join(src, "train"), { classes: ["a", "b"], perClass: 10, size: 8, format: "png" });
  for (const args of [
    ["keygen", "-b", "2", "-o", key, "--seed", "attack-cli"],
    ["encrypt", src, "--split", "train", "-k", key, "-o", enc],
    ["encrypt", src, "--split", "train", "--plain", "-o", plain],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 0, r.stderr);
  }
});

test("attack writes a loadable 0600 key estimate and measures it with --eval-key", async () => {
  const out = join(t.dir, "estimate.json");
  const pic = join(t.dir, "attack.png");
  const r = cli(
    "attack",
    enc,
    "--reference",
    plain,
    "-o",
    out,
    "--eval-key",
    key,
    "--picture",
    pic,
    "--restarts",
    "2",
    "-q",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ciphertext-only attack on .* \(k=2\)/);
  assert.match(r.stdout, /decryption PSNR -?\d+\.\d\d dB on 20 images; K⁻¹ relative error \d+\.\d{3}/);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const est = await loadKey(out);
  assert.equal(est.blockSize, 2);
  assert.ok(existsSync(pic));
  assert.doesNotMatch(r.stdout + r.stderr, /"values"/);
  const again = cli("attack", enc, "--reference", plain, "-o", out, "--restarts", "1", "-q");
  assert.notEqual(again.status, 0, "refuses to overwrite a key file");
});

test("attack refuses a plain target, an encrypted reference, and --picture without --eval-key", () => {
  let r = cli("attack", plain, "--reference", plain, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /is not encrypted/);
  r = cli("attack", enc, "--reference", enc, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /reference store .* is encrypted/);
  r = cli("attack", enc, "--reference", plain, "--picture", join(t.dir, "x.png"), "--restarts", "1", "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--picture needs --eval-key/);
});

test("attack --known-plaintext recovers the key from a few pairs and measures it like the ciphertext-only attack", async () => {
  // photo-like pixels (the helpers' linear patterns leave blocks nearly rank-deficient): seeded noise images
  const src = join(t.dir, "noisy");
  const r0 = lcg(3);
  for (const c of ["a", "b"]) {
    mkdirSync(join(src, "train", c), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const px = Buffer.from(Array.from({ length: 8 * 8 * 3 }, () => Math.floor(256 * r0())));
      await sharp(px, { raw: { width: 8, height: 8, channels: 3 } })
        .png()
        .toFile(join(src, "train", c, `${i}.png`));
    }
  }
  const [encN, plainN] = [join(t.dir, "enc-noisy"), join(t.dir, "plain-noisy")];
  for (const args of [
    ["encrypt", src, "--split", "train", "-k", key, "-o", encN],
    ["encrypt", src, "--split", "train", "--plain", "-o", plainN],
  ])
    assert.equal(cli(...args).status, 0);
  const out = join(t.dir, "known.json");
  const r = cli("attack", encN, "--known-plaintext", plainN, "--pairs", "2", "-o", out, "--eval-key", key, "-q");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /known-plaintext attack on .* \(k=2\) in \d+\.\d s from 2 plaintext\/ciphertext pairs/);
  assert.equal((r.stdout.match(/channel \d: rank 4 of 4, relative residual/g) ?? []).length, 3);
  // pairs of 8×8 images in [0, 1] determine a k = 2 key: the decryption is exact up to rounding
  const psnr = Number(r.stdout.match(/decryption PSNR (\d+\.\d\d) dB on 20 images/)?.[1]);
  assert.ok(psnr > 80, r.stdout);
  assert.match(r.stdout, /K⁻¹ relative error 0\.000/);
  assert.match(r.stdout, /SSIM 1\.000; re-identified 100\.0%/);
  const est = await loadKey(out);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const truth = await loadKey(key);
  const worst = Math.max(...est.values.map((v, i) => Math.abs(v - truth.values[i])));
  assert.ok(worst < 1e-4, `largest key error ${worst}`);
  assert.doesNotMatch(r.stdout + r.stderr, /"values"/);
});

test("attack takes exactly one of --reference and --known-plaintext, and refuses mismatched plaintexts", () => {
  let r = cli("attack", enc, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /either --reference .* or --known-plaintext/);
  r = cli("attack", enc, "--reference", plain, "--known-plaintext", plain, "-q");
  assert.match(r.stderr, /either --reference .* or --known-plaintext/);
  r = cli("attack", enc, "--known-plaintext", enc, "-q");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--known-plaintext .* is encrypted/);
});

test("attack help renders ATTACK_DEFAULTS: no default is retyped", () => {
  const r = cli("attack", "--help");
  assert.equal(r.status, 0, r.stderr);
  const help = r.stdout.replace(/\s+/g, " ");
  assert.match(
    help,
    /--restarts <n> random starts per channel \(default 12 for k ≤ 4, 8 for k = 5–7, 32 for k = 8, 4 for k = 9–15, 2 for k ≥ 16\)/,
  );
  assert.match(
    help,
    /--iterations <n> objective evaluations per start \(default 1500 for k ≤ 4, 400 for k = 5–15, 200 for k ≥ 16\)/,
  );
  assert.match(help, /Attack defaults by block size k:/);
  assert.equal(
    cli("audit", "--help").stdout.replace(/\s+/g, " ").includes("default 12 for k ≤ 4, 8 for k = 5–7, 32 for k = 8"),
    true,
  );
});
