import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeFolder, tempDir } from "../data/helpers.ts";

const t = tempDir("ercnn-scheme-attack-");
after(t.cleanup);
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });
const src = join(t.dir, "src");
const ref = join(t.dir, "ref");

before(async () => {
  await makeFolder(src, { classes: ["a", "b"], perClass: 4, size: 8, format: "png" });
  assert.equal(cli("encrypt", src, "--plain", "-o", ref, "-w", "1").status, 0);
  for (const scheme of ["pixel-shuffle-np", "le"]) {
    assert.equal(
      cli("keygen", "-b", "4", "--scheme", scheme, "--seed", "a", "-o", join(t.dir, `${scheme}.json`)).status,
      0,
    );
    const r = cli("encrypt", src, "-k", join(t.dir, `${scheme}.json`), "-o", join(t.dir, scheme), "-w", "1");
    assert.equal(r.status, 0, r.stderr);
  }
});

test("attack and audit on an le store say no attack applies: audit exits 0, attack does not", () => {
  const msg =
    /no attack of ercnn applies to scheme le: resisted these attacks \(none\), which is not a proof of safety/;
  const a = cli("audit", join(t.dir, "le"), "--reference", ref, "-k", join(t.dir, "le.json"), "-q");
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, msg);
  const b = cli("attack", join(t.dir, "le"), "--reference", ref, "-q");
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, msg);
});

test("attack and audit on a pixel-shuffle-np store run the signed-permutation solver, not the Hill attack", () => {
  const a = cli(
    "attack",
    join(t.dir, "pixel-shuffle-np"),
    "--reference",
    ref,
    "-q",
    "--eval-key",
    join(t.dir, "pixel-shuffle-np.json"),
  );
  assert.equal(a.status, 0, a.stderr);
  assert.match(
    a.stdout,
    /signed-permutation attack on .* \(scheme pixel-shuffle-np, k=4\) .* from 8 ciphertexts and 8 reference images/,
  );
  assert.match(a.stdout, /measured with the true key: \d+ of 48 block coordinates recovered/);
  assert.doesNotMatch(a.stdout, /statistics mismatch per channel/);
  const b = cli(
    "audit",
    join(t.dir, "pixel-shuffle-np"),
    "--reference",
    ref,
    "-k",
    join(t.dir, "pixel-shuffle-np.json"),
    "-q",
  );
  assert.equal(b.status, 0, b.stderr);
  assert.match(
    b.stdout,
    /scheme pixel-shuffle-np, k=4\): the signed-permutation attack recovered \d+ of 48 block coordinates/,
  );
});
