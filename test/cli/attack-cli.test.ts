// `ercnn attack`: the ciphertext-only attack from the command line: the estimate is a key file (mode 0600) that
// ercnn can load, the measurement line appears only with --eval-key, and wrong inputs get clear errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadKey } from "../../src/data/keyfile.ts";
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

test("attack --search refines the estimate with the sparsity search, reports it per channel, and writes that key", async () => {
  const out = join(t.dir, "searched.json");
  const r = cli(
    "attack",
    enc,
    "--reference",
    plain,
    "-o",
    out,
    "--eval-key",
    key,
    "--restarts",
    "2",
    "--search",
    "--search-relaxations",
    "2",
    "-q",
  );
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.match(/sparsity search after the second-order attack, \d+ s: pixel-difference penalty (.*)/);
  assert.ok(line, r.stdout);
  assert.equal((line[1].match(/channel \d \d\.\d{5} → \d\.\d{5} \(\d+ flips, [12] relaxations\)/g) ?? []).length, 3);
  assert.match(r.stdout, /decryption PSNR -?\d+\.\d\d dB on 20 images/);
  assert.equal((await loadKey(out)).blockSize, 2);
  const off = cli("attack", enc, "--reference", plain, "--restarts", "1", "-q");
  assert.equal(off.status, 0, off.stderr);
  assert.doesNotMatch(off.stdout, /sparsity search/);
});
