import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { encryptWith, SCHEME_NAMES, schemeOf } from "../../src/cipher/schemes/index.ts";
import { loadSchemeKey } from "../../src/data/scheme-keyfile.ts";

const dir = mkdtempSync(join(tmpdir(), "ercnn-keygen-scheme-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/ercnn.js", ...args], { encoding: "utf8" });

test("keygen --help lists every scheme of the registry", () => {
  const r = cli("keygen", "--help");
  assert.equal(r.status, 0, r.stderr);
  for (const name of SCHEME_NAMES) assert.match(r.stdout, new RegExp(`^\\s+${name}: `, "m"));
});

test("keygen --scheme writes a 0600 key file with the scheme recorded; the same seed gives the same key", async () => {
  for (const scheme of ["pixel-shuffle-np", "le", "etc", "ffx", "hill"]) {
    const out = join(dir, `${scheme}.json`);
    const r = cli("keygen", "-b", "2", "--scheme", scheme, "--seed", "s", "-o", out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`wrote .*: ${scheme} `));
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(out, "utf8")).scheme, scheme);
    const key = await loadSchemeKey(out);
    assert.equal(schemeOf(key), scheme);
    assert.doesNotMatch(r.stdout + r.stderr, /seed"|[0-9a-f]{64}/, "no secret printed");
    const again = join(dir, `${scheme}-again.json`);
    assert.equal(cli("keygen", "-b", "2", "--scheme", scheme, "--seed", "s", "-o", again).status, 0);
    const dims = { c: 3, h: 2, w: 2, layout: "HWC" as const };
    const x = Float32Array.from({ length: 12 }, (_, i) => i / 255);
    assert.deepEqual(encryptWith(x, dims, await loadSchemeKey(again)), encryptWith(x, dims, key));
  }
  const bad = cli("keygen", "-b", "2", "--scheme", "le", "--scramble", "-o", join(dir, "x.json"));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--scramble is for Hill keys, not --scheme le/);
});
