import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { makeFolder, makeTarGz, tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-cli-");
after(t.cleanup);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/ercnn.js", ...args], {
    encoding: "utf8",
    env: { ...process.env, ERCNN_CACHE: join(t.dir, "cache") },
  });

before(async () => {
  await makeFolder(join(t.dir, "src", "ds", "train"), { classes: ["a", "b"], perClass: 6, size: 8, format: "png" });
  await makeTarGz(join(t.dir, "ds.tar.gz"), join(t.dir, "src"), ["ds"]);
});

test("--help on every command", () => {
  for (const c of [[], ["keygen"], ["encrypt"], ["decrypt"], ["inspect"]]) {
    const r = cli(...c, "--help");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: ercnn/);
  }
});

test("keygen → encrypt (archive) → inspect → decrypt, no key values printed", () => {
  const key = join(t.dir, "key.json");
  let r = cli("keygen", "-b", "4", "-o", key, "--seed", "cli");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /fingerprint [0-9a-f]+/);
  const values: number[] = JSON.parse(readFileSync(key, "utf8")).values ?? [];
  r = cli("keygen", "-b", "4", "-o", key);
  assert.notEqual(r.status, 0, "refuses to overwrite a key");
  const store = join(t.dir, "store");
  r = cli("encrypt", join(t.dir, "ds.tar.gz"), "--split", "train", "-k", key, "-o", store, "--shard-size", "5");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /12 images in 3 shard/);
  assert.match(r.stderr, /encrypt: 12\/12/);
  r = cli("inspect", store);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /encrypted store/);
  assert.match(r.stdout, /12×3×8×8/);
  assert.match(r.stdout, /a: 6/);
  r = cli("inspect", key, "--json");
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.equal(d.blockSize, 4);
  for (const v of values.slice(0, 5)) assert.ok(!r.stdout.includes(String(v)));
  const out = join(t.dir, "png");
  r = cli("decrypt", store, "-k", key, "-o", out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readdirSync(join(out, "a")).length, 6);
  assert.equal(readdirSync(join(out, "b")).length, 6);
  // Another key of the same size and kind (an attack's estimate, say) decrypts, with a warning; writing never mixes keys.
  const other = join(t.dir, "other.json");
  cli("keygen", "-b", "4", "-o", other, "--seed", "other");
  r = cli("decrypt", store, "-k", other, "-o", join(t.dir, "png2"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: key \S+ is not the key the store .* was written with .*decrypting with it anyway/);
  assert.equal(readdirSync(join(t.dir, "png2", "a")).length, 6);
  const k8 = join(t.dir, "k8.json");
  cli("keygen", "-b", "8", "-o", k8, "--seed", "k8");
  r = cli("decrypt", store, "-k", k8, "-o", join(t.dir, "png3"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /key of block size 4; the given key \S+ has 8 and cannot decrypt it/);
  r = cli("encrypt", join(t.dir, "ds.tar.gz"), "--split", "train", "-k", other, "-o", store, "--shard-size", "5");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /never mixes keys/);
  // Block size not dividing the images.
  const k3 = join(t.dir, "k3.json");
  cli("keygen", "-b", "3", "-o", k3);
  r = cli("encrypt", join(t.dir, "src", "ds"), "--split", "train", "-k", k3, "-o", join(t.dir, "s3"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /8×8 is not divisible by block size 3/);
});

test("a killed encrypt leaves complete shards and resumes", async () => {
  await makeFolder(join(t.dir, "many"), { classes: ["x", "y"], perClass: 150, size: 16, format: "jpg" });
  const key = join(t.dir, "key.json");
  const store = join(t.dir, "killed");
  const child = spawn(
    process.execPath,
    ["bin/ercnn.js", "encrypt", join(t.dir, "many"), "-k", key, "-o", store, "--shard-size", "20", "--workers", "1"],
    {
      stdio: "ignore",
    },
  );
  const deadline = Date.now() + 90_000; // generous: CLI start-up alone takes 15 s on a loaded 2-core machine
  while (Date.now() < deadline) {
    if (
      existsSync(join(store, "meta.json")) &&
      JSON.parse(readFileSync(join(store, "meta.json"), "utf8")).shards.length >= 2
    )
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  const meta = JSON.parse(readFileSync(join(store, "meta.json"), "utf8"));
  assert.ok(meta.shards.length >= 2);
  const r = cli("encrypt", join(t.dir, "many"), "-k", key, "-o", store, "--shard-size", "20");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /300 images in 15 shard/);
  if (!meta.complete) assert.match(r.stderr, /resumed: \d+ images were already in the store/);
});

test("careful-user paths: decrypt into a store refused, keygen -b 64 refused and -b 16 shows progress, import warnings printed", async () => {
  const key = join(t.dir, "key-careful.json");
  let r = cli("keygen", "-b", "4", "-o", key, "--seed", "careful");
  assert.equal(r.status, 0, r.stderr);
  const store = join(t.dir, "careful-store");
  r = cli("encrypt", join(t.dir, "ds.tar.gz"), "--split", "train", "-k", key, "-o", store);
  assert.equal(r.status, 0, r.stderr);
  // plaintext never goes into a store folder (the store itself or a folder inside it)
  for (const out of [store, join(store, "plain")]) {
    r = cli("decrypt", store, "-k", key, "-o", out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is inside the store .*careful-store: decrypted images would lie as plaintext/);
  }
  assert.ok(!existsSync(join(store, "plain")) && !existsSync(join(store, "a")), "nothing written");
  // a store whose statistics are not finite (written before NaN was refused at import): refused naming the field
  const metaPath = join(store, "meta.json");
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  meta.stats.mean[1] = null;
  writeFileSync(metaPath, JSON.stringify(meta));
  r = cli("inspect", store);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /careful-store: meta\.json's stats\.mean is not 3 finite numbers/);
  // keygen: an absurd block size is refused at once; a large one reports progress per channel
  const t0 = Date.now();
  r = cli("keygen", "-b", "64", "-o", join(t.dir, "k64.json"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /blockSize must be an integer in \[1, 32\], got 64 \(a k=64 key is 4096×4096 values/);
  assert.ok(Date.now() - t0 < 30_000);
  r = cli("keygen", "-b", "16", "-o", join(t.dir, "k16.json"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /keygen k=16: 3\/3/);
  // an RGBA PNG with transparency: imported, with a warning that names it
  const rgba = join(t.dir, "rgba-src");
  await makeFolder(rgba, { classes: ["a", "b"], perClass: 2, size: 8 });
  const b = Buffer.alloc(8 * 8 * 4, 120);
  for (let i = 3; i < b.length; i += 4) b[i] = 0;
  await sharp(b, { raw: { width: 8, height: 8, channels: 4 } })
    .png()
    .toFile(join(rgba, "b", "clear.png"));
  r = cli("encrypt", rgba, "-k", key, "-o", join(t.dir, "rgba-store"));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: 1 image\(s\) had transparent pixels; their alpha channel was dropped.*clear\.png/);
});

test("a store's class names never write outside -o; -w beyond the cores is capped with a note", async () => {
  const key = join(t.dir, "key-escape.json");
  let r = cli("keygen", "-b", "4", "-o", key, "--seed", "escape");
  assert.equal(r.status, 0, r.stderr);
  const store = join(t.dir, "escape-store");
  r = cli("encrypt", join(t.dir, "ds.tar.gz"), "--split", "train", "-k", key, "-o", store, "-w", "1000");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: -w 1000 capped: used \d+ worker threads? \(at most one per CPU core, \d+ here/);
  const metaPath = join(store, "meta.json");
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  meta.classes[0] = "../../ESCAPED_x";
  writeFileSync(metaPath, JSON.stringify(meta));
  const out = join(t.dir, "escape", "deep", "out");
  r = cli("decrypt", store, "-k", key, "-o", out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /meta\.json's classes\[0\] '\.\.\/\.\.\/ESCAPED_x' contains a path separator/);
  assert.ok(!existsSync(join(t.dir, "escape", "ESCAPED_x")), "nothing written outside -o");
});
