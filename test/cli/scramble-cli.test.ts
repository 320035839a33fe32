// A block-scrambling key through the CLI: keygen --scramble says so (never the seed), encrypt → decrypt gives the
// pictures back, and the plain key with the same matrices does not decrypt the store.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { makeFolder, tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-scramble-cli-");
after(t.cleanup);
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });

before(async () => {
  await makeFolder(join(t.dir, "src"), { classes: ["a", "b"], perClass: 3, size: 16, format: "png" });
});

async function pixels(path: string): Promise<Buffer> {
  return sharp(path).removeAlpha().raw().toBuffer();
}

test("keygen --scramble → encrypt → decrypt round trip; the seed is never printed", async () => {
  const key = join(t.dir, "key.json");
  let r = cli("keygen", "-b", "4", "--scramble", "-o", key, "--seed", "scramble-cli");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /block scrambling, fingerprint [0-9a-f]{16}/);
  const seed = JSON.parse(readFileSync(key, "utf8")).scramble.seed as string;
  assert.match(seed, /^[0-9a-f]{64}$/);
  r = cli("inspect", key);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /scrambling {3}block positions \(.+; seed secret\)/);
  assert.ok(!r.stdout.includes(seed), "inspect must not print the seed");
  assert.equal(
    JSON.parse(cli("inspect", key, "--json").stdout).scrambling,
    JSON.parse(readFileSync(key, "utf8")).scramble.scheme,
  );
  const store = join(t.dir, "store");
  r = cli("encrypt", join(t.dir, "src"), "-k", key, "-o", store);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /k=4, uniform, block scrambling\)/);
  r = cli("inspect", store);
  assert.match(r.stdout, /key {10}[0-9a-f]{64} \(uniform, k=4, block scrambling\)/);
  assert.ok(!r.stdout.includes(seed));
  const out = join(t.dir, "png");
  r = cli("decrypt", store, "-k", key, "-o", out);
  assert.equal(r.status, 0, r.stderr);
  // every decrypted picture is one of its class's originals, to ±1 grey level (float32 round trip, PNG rounding)
  for (const c of ["a", "b"]) {
    const originals = await Promise.all(
      readdirSync(join(t.dir, "src", c)).map((f) => pixels(join(t.dir, "src", c, f))),
    );
    const decrypted = readdirSync(join(out, c));
    assert.equal(decrypted.length, originals.length);
    for (const f of decrypted) {
      const y = await pixels(join(out, c, f));
      const best = Math.min(
        ...originals.map((x) => {
          let worst = 0;
          for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
          return worst;
        }),
      );
      assert.ok(best <= 1, `${c}/${f}: max pixel difference ${best} to the nearest original`);
    }
  }
  // the plain key with the same matrices is another key: the store refuses it
  const plain = join(t.dir, "plain.json");
  assert.equal(cli("keygen", "-b", "4", "-o", plain, "--seed", "scramble-cli").status, 0);
  r = cli("decrypt", store, "-k", plain, "-o", join(t.dir, "png2"));
  assert.equal(r.status, 1);
  for (const o of [r.stdout, r.stderr]) assert.ok(!o.includes(seed));
});
