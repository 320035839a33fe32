import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { readMeta, Store } from "../../src/data/store.ts";
import { makeFolder, tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-scheme-store-");
after(t.cleanup);
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
const src = join(t.dir, "src");

/** The raw RGB bytes of every PNG under root/<class>/, by class and sorted file name. */
async function pixelsOf(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const cl of readdirSync(root).sort())
    for (const f of readdirSync(join(root, cl)).sort()) {
      const { data } = await sharp(join(root, cl, f))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      out.push(`${cl}:${Buffer.from(data).toString("hex")}`);
    }
  return out;
}

before(async () => {
  await makeFolder(src, { classes: ["a", "b"], perClass: 3, size: 8, format: "png" });
});

for (const scheme of ["pixel-shuffle-np", "le", "etc", "ffx"]) {
  test(`keygen --scheme ${scheme} → encrypt → decrypt gives the exact images; meta records the scheme`, async () => {
    const key = join(t.dir, `${scheme}.json`);
    let r = cli("keygen", "-b", "4", "--scheme", scheme, "--seed", "st", "-o", key);
    assert.equal(r.status, 0, r.stderr);
    const store = join(t.dir, `store-${scheme}`);
    r = cli("encrypt", src, "-k", key, "-o", store, "--shard-size", "4", "-w", "1");
    assert.equal(r.status, 0, r.stderr);
    const meta = readMeta(store);
    assert.equal(meta.key?.scheme, scheme);
    // The key's kind is the scheme's name, so tools that show a store's kind (inspect, serve) name what it holds.
    assert.equal(meta.key?.mode, scheme);
    r = cli("inspect", store, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).key.mode, scheme);
    assert.equal(meta.key?.fingerprint, JSON.parse(readFileSync(key, "utf8")).fingerprint);
    // The stored values are ciphertexts on the byte grid, not the plain pixels.
    const x = Store.open(store).readShard(0).x;
    for (const v of x.subarray(0, 50)) assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-4);
    const plainStore = join(t.dir, `plain-${scheme}`);
    assert.equal(cli("encrypt", src, "--plain", "-o", plainStore, "--shard-size", "4", "-w", "1").status, 0);
    const px = Store.open(plainStore).readShard(0).x;
    let differ = 0;
    for (let i = 0; i < px.length; i++) if (Math.abs(px[i] - x[i]) > 1e-6) differ++;
    assert.ok(differ > px.length / 4, `${scheme}: only ${differ} of ${px.length} values changed`);
    const out = join(t.dir, `out-${scheme}`);
    r = cli("decrypt", store, "-k", key, "-o", out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await pixelsOf(out), await pixelsOf(src));
    // Another scheme's key is refused, naming the scheme.
    const other = join(t.dir, `other-${scheme}.json`);
    const otherScheme = scheme === "le" ? "ffx" : "le";
    assert.equal(cli("keygen", "-b", "4", "--scheme", otherScheme, "-o", other).status, 0);
    r = cli("decrypt", store, "-k", other, "-o", join(t.dir, `bad-${scheme}`));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`scheme ${scheme}; the given key .* has ${otherScheme}`));
  });
}

test("a store whose meta.json names an unknown scheme is refused naming the field", () => {
  const store = join(t.dir, "store-le");
  const p = join(store, "meta.json");
  const meta = JSON.parse(readFileSync(p, "utf8"));
  meta.key.scheme = "rot13";
  writeFileSync(p, JSON.stringify(meta));
  assert.throws(
    () => readMeta(store),
    /meta\.json's key\.scheme is "rot13", not one of pixel-shuffle-np, le, etc, ffx/,
  );
  meta.key.scheme = "le";
  meta.key.mode = "uniform";
  writeFileSync(p, JSON.stringify(meta));
  assert.throws(() => readMeta(store), /key\.mode is "uniform", but a le key's kind is "le"/);
  // Stores written before the kind was recorded (no key.mode) still load.
  delete meta.key.mode;
  writeFileSync(p, JSON.stringify(meta));
  assert.equal(readMeta(store).key?.scheme, "le");
});
